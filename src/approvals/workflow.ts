/**
 * Approval workflow state machine. Pure: no clock, no I/O — `now` (ms since the epoch) is passed
 * in, and every function returns a new state instead of mutating.
 *
 * Shape follows ASCEND's workflow vocabulary: a named workflow has ordered `steps`, each with the
 * approver groups allowed to decide it, how many approvals complete it, and a timeout; an optional
 * `escalation` says what a timeout does. A policy's plain `approvers: [groups]` list is the
 * one-step workflow built by {@link singleStepWorkflow}.
 *
 * Rules:
 * - each approver (API-key name) decides once per approval, whatever the step (separation of duties);
 * - the approver must hold one of the current step's groups (the escalation groups once escalated);
 * - one denial ends the approval: denied, the approver's comment is the reason;
 * - a step completes at `required` approvals; the next one starts with its own deadline; the last
 *   step completing approves;
 * - a timeout applies `escalation.timeout_action` (default `deny`): `deny` → denied ("timed out"),
 *   `approve` → approved, `escalate` → the escalation approvers take over the whole approval
 *   (required 1, a fresh deadline of the timed-out step's length); a timeout after escalation denies.
 */

export type TimeoutAction = 'escalate' | 'deny' | 'approve';

export interface WorkflowStep {
  /** Approver groups; an approver holding any of them may decide this step. */
  readonly approvers: readonly string[];
  /** Approvals needed to complete the step (≥ 1). */
  readonly required: number;
  /** Time the step may stay undecided before its timeout applies (> 0, fractions allowed). */
  readonly timeout_hours: number;
}

export interface Escalation {
  readonly timeout_action: TimeoutAction;
  /** Groups that take over after an `escalate` timeout; required when timeout_action is escalate. */
  readonly escalation_approvers?: readonly string[];
}

export interface WorkflowDefinition {
  readonly name?: string;
  readonly steps: readonly WorkflowStep[];
  readonly escalation?: Escalation;
}

/** One approver's decision as it arrives from the API layer. */
export interface Ballot {
  readonly approver: string;
  readonly groups: readonly string[];
  readonly vote: 'approve' | 'deny';
  readonly comment?: string | null;
}

/** A ballot accepted into an approval, stamped with the phase it counted for. */
export interface CastVote extends Ballot {
  readonly step: number;
  readonly escalated: boolean;
  readonly at: number;
}

export type WorkflowStatus = 'pending' | 'approved' | 'denied';

export interface WorkflowState {
  readonly state: WorkflowStatus;
  readonly current_step: number;
  readonly escalated: boolean;
  /** Deadline of the current phase (ms); null once decided. */
  readonly deadline_at: number | null;
  readonly decided_at: number | null;
  readonly reason: string | null;
  readonly votes: readonly CastVote[];
}

export type VoteError = 'not_pending' | 'already_voted' | 'not_an_approver';

export type VoteOutcome =
  | { readonly ok: true; readonly state: WorkflowState; readonly vote: CastVote; readonly timed_out: boolean }
  | { readonly ok: false; readonly error: VoteError; readonly message: string; readonly state: WorkflowState };

export type TimeoutOutcome =
  | { readonly ok: true; readonly state: WorkflowState }
  | { readonly ok: false; readonly error: 'not_pending' | 'not_due'; readonly state: WorkflowState };

const HOUR_MS = 3_600_000;

/** The one-step workflow a policy's `approvers: [groups]` stands for. */
export function singleStepWorkflow(approvers: readonly string[], timeoutHours: number): WorkflowDefinition {
  return { steps: [{ approvers: [...approvers], required: 1, timeout_hours: timeoutHours }] };
}

/** Problems with a definition, each naming the field; empty when valid. */
export function validateWorkflow(def: WorkflowDefinition): string[] {
  const errors: string[] = [];
  if (def.steps.length === 0) errors.push('steps: at least one step is required');
  def.steps.forEach((s, i) => {
    if (s.approvers.length === 0) errors.push(`steps[${i}].approvers: at least one group is required`);
    if (!Number.isInteger(s.required) || s.required < 1) errors.push(`steps[${i}].required: must be an integer ≥ 1`);
    if (!(Number.isFinite(s.timeout_hours) && s.timeout_hours > 0)) {
      errors.push(`steps[${i}].timeout_hours: must be a number > 0`);
    }
  });
  const esc = def.escalation;
  if (esc?.timeout_action === 'escalate' && (esc.escalation_approvers?.length ?? 0) === 0) {
    errors.push('escalation.escalation_approvers: required when timeout_action is escalate');
  }
  return errors;
}

/** A fresh pending state at step 0 with that step's deadline. */
export function startWorkflow(def: WorkflowDefinition, now: number): WorkflowState {
  return {
    state: 'pending', current_step: 0, escalated: false,
    deadline_at: now + stepTimeoutMs(def, 0), decided_at: null, reason: null, votes: [],
  };
}

/** Groups allowed to decide the current phase. */
export function currentApprovers(def: WorkflowDefinition, s: WorkflowState): readonly string[] {
  if (s.escalated) return def.escalation?.escalation_approvers ?? [];
  return def.steps[s.current_step]?.approvers ?? [];
}

/** Approvals the current phase needs (escalation always needs one). */
export function requiredApprovals(def: WorkflowDefinition, s: WorkflowState): number {
  return s.escalated ? 1 : (def.steps[s.current_step]?.required ?? 1);
}

/**
 * Apply one approver's ballot. A ballot arriving after the phase's deadline first applies the
 * timeout (the scheduler may lag behind the clock) and is then judged against the resulting phase,
 * so a late vote never decides a step that has already timed out.
 */
export function castVote(def: WorkflowDefinition, s0: WorkflowState, ballot: Ballot, now: number): VoteOutcome {
  let s = s0;
  let timedOut = false;
  if (s.state === 'pending' && s.deadline_at !== null && now >= s.deadline_at) {
    s = timeoutTransition(def, s, now);
    timedOut = true;
  }
  const reject = (error: VoteError, message: string): VoteOutcome => ({ ok: false, error, message, state: s });
  if (s.state !== 'pending') return reject('not_pending', `approval is already ${s.state}`);
  if (s.votes.some((v) => v.approver === ballot.approver)) {
    return reject('already_voted', `${ballot.approver} has already decided this approval`);
  }
  const allowed = currentApprovers(def, s);
  if (!ballot.groups.some((g) => allowed.includes(g))) {
    return reject('not_an_approver', `${ballot.approver} is not in any of [${allowed.join(', ')}]`);
  }
  const vote: CastVote = {
    approver: ballot.approver, groups: [...ballot.groups], vote: ballot.vote,
    comment: ballot.comment ?? null, step: s.current_step, escalated: s.escalated, at: now,
  };
  const votes = [...s.votes, vote];
  if (ballot.vote === 'deny') {
    const reason = ballot.comment?.trim() ? ballot.comment : `denied by ${ballot.approver}`;
    return { ok: true, vote, timed_out: timedOut, state: decide({ ...s, votes }, 'denied', reason, now) };
  }
  const inPhase = votes.filter((v) => v.step === s.current_step && v.escalated === s.escalated && v.vote === 'approve');
  if (inPhase.length < requiredApprovals(def, s)) {
    return { ok: true, vote, timed_out: timedOut, state: { ...s, votes } };
  }
  const next = s.current_step + 1;
  if (s.escalated || next >= def.steps.length) {
    return { ok: true, vote, timed_out: timedOut, state: decide({ ...s, votes }, 'approved', null, now) };
  }
  const advanced = { ...s, votes, current_step: next, deadline_at: now + stepTimeoutMs(def, next) };
  return { ok: true, vote, timed_out: timedOut, state: advanced };
}

/** Apply the timeout of the current phase if its deadline has passed. */
export function applyTimeout(def: WorkflowDefinition, s: WorkflowState, now: number): TimeoutOutcome {
  if (s.state !== 'pending') return { ok: false, error: 'not_pending', state: s };
  if (s.deadline_at === null || now < s.deadline_at) return { ok: false, error: 'not_due', state: s };
  return { ok: true, state: timeoutTransition(def, s, now) };
}

function timeoutTransition(def: WorkflowDefinition, s: WorkflowState, now: number): WorkflowState {
  if (s.escalated) return decide(s, 'denied', 'timed out after escalation', now);
  const action = def.escalation?.timeout_action ?? 'deny';
  if (action === 'approve') return decide(s, 'approved', 'approved on timeout', now);
  if (action === 'escalate' && (def.escalation?.escalation_approvers?.length ?? 0) > 0) {
    // The escalated phase gets the timed-out step's full length, counted from when the timeout
    // is applied: after downtime the escalation approvers still get their whole window.
    return { ...s, escalated: true, deadline_at: now + stepTimeoutMs(def, s.current_step) };
  }
  return decide(s, 'denied', 'timed out', now);
}

function decide(s: WorkflowState, state: 'approved' | 'denied', reason: string | null, now: number): WorkflowState {
  return { ...s, state, reason, decided_at: now, deadline_at: null };
}

function stepTimeoutMs(def: WorkflowDefinition, step: number): number {
  const hours = def.steps[step]?.timeout_hours;
  if (hours === undefined) throw new RangeError(`workflow has no step ${step}`);
  return Math.round(hours * HOUR_MS);
}
