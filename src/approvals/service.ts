/**
 * The approval workflow as the rest of the sidecar sees it: the gateway pipeline calls
 * `requestApproval` on a `require_approval` decision; the API calls `vote` and `complete`; the
 * scheduler calls `expire`. Each reads from the store, computes with the pure workflow, and writes
 * back one versioned transition (retrying on a concurrent change).
 */
import { randomUUID } from 'node:crypto';
import type { EventPublisher } from '../events/publisher.js';
import { systemClock, type Clock } from '../shared/runtime.js';
import type { ApprovalSettings } from './config.js';
import { approvalEventData, completionEventData } from './event-data.js';
import { fingerprintAction } from './fingerprint.js';
import type { GrantMemo } from './grant-memo.js';
import type { ApprovalMetrics } from './metrics.js';
import type { ActionRecord, ApprovalRecord } from './store/records.js';
import type { ApprovalStore, CompleteResult } from './store/store.js';
import { planTransition } from './transition.js';
import {
  applyTimeout, castVote, startWorkflow, validateWorkflow,
  type Ballot, type CastVote, type VoteError, type WorkflowDefinition, type WorkflowState,
} from './workflow.js';
import { resolution, type ApprovalRequest, type ApprovalResolution } from './resolution.js';

export type { ApprovalRequest, ApprovalResolution } from './resolution.js';

export interface ApprovalServiceDeps {
  readonly store: ApprovalStore;
  readonly events: Pick<EventPublisher, 'entries' | 'enqueued'>;
  readonly settings: ApprovalSettings;
  readonly now?: Clock;
  readonly newId?: (prefix: 'act' | 'apr') => string;
  readonly metrics?: ApprovalMetrics;
  /** Told when a deadline appeared or moved (wire to ApprovalScheduler.notify). */
  readonly onDeadlineChanged?: () => void;
  /** Told after every committed change of an action's approval or completion (long-polls). */
  readonly onActionChanged?: (actionId: string) => void;
  /** Told after a deadline passed and its timeout was applied (logs, the SIEM stream). */
  readonly onTimeout?: (t: TimeoutEvent) => void;
  /** Live ttl grants kept by this replica (a fleet store): their retries need no store call. It counts its own lookups. */
  readonly grants?: GrantMemo;
}

/** A timeout applied: the approval escalated, or decided by its workflow's timeout_action. */
export interface TimeoutEvent {
  readonly outcome: 'escalated' | 'approved' | 'denied';
  readonly approval: ApprovalRecord;
}

export interface VoteInput extends Ballot {
  readonly approval_id: string;
}

export type VoteResult =
  | { readonly ok: true; readonly approval: ApprovalRecord }
  | { readonly ok: false; readonly error: VoteError | 'not_found' | 'self_approval'; readonly message: string; readonly approval?: ApprovalRecord };

/** The binding of an approval requested without one (direct callers of the service). */
const UNBOUND = Object.freeze({ policy_digest: null, workflow: null, values: Object.freeze({}) });

/** Optimistic retries before giving up on an approval that keeps changing under us. */
const MAX_RETRIES = 5;

export class ApprovalService {
  private readonly now: Clock;
  private readonly newId: (prefix: 'act' | 'apr') => string;

  constructor(private readonly deps: ApprovalServiceDeps) {
    this.now = deps.now ?? systemClock;
    this.newId = deps.newId ?? ((prefix) => `${prefix}_${randomUUID()}`);
  }

  /**
   * Resolve a `require_approval` decision against earlier requests for the same action:
   * pending → the same ids again; approved → allowed (single_use once, ttl until expiry);
   * denied within denial_ttl_seconds → denied with the approver's reason; otherwise (first time,
   * grant used or expired, denial aged out) a new pending approval. A ttl grant this replica
   * already saw in use may answer from `grants` without a store call (grant-memo.ts).
   */
  async requestApproval(req: ApprovalRequest): Promise<ApprovalResolution> {
    const { store, settings, grants } = this.deps;
    const fingerprint = req.fingerprint ?? fingerprintAction(req);
    if (grants) {
      const kept = grants.get(fingerprint, this.now());
      if (kept !== undefined) return resolution.allowed(kept);
    }
    for (let i = 0; i < MAX_RETRIES; i++) {
      const now = this.now();
      const ticket = grants?.ticket();
      // One store call: the latest approval and, when it is approved, its grant's use.
      const { latest, grant } = await store.useLatestApproval(fingerprint, now);
      if (latest?.state === 'pending') {
        // The scheduler may lag; never answer "pending" past a deadline.
        if (latest.deadline_at !== null && now >= latest.deadline_at) { await this.expire(latest.approval_id); continue; }
        return resolution.pending(latest, false);
      }
      if (grant?.ok) {
        grants?.keep(fingerprint, grant.approval, ticket, now);
        return resolution.allowed(grant.approval);
      }
      if (latest?.state === 'denied' && now < (latest.decided_at ?? 0) + settings.denial_ttl_seconds * 1000) {
        return resolution.denied(latest);
      }
      return this.create(req, fingerprint, now);
    }
    throw new Error(`approval for fingerprint ${fingerprint} kept changing; gave up after ${MAX_RETRIES} tries`);
  }

  /** Record one approver's decision. */
  async vote(input: VoteInput): Promise<VoteResult> {
    for (let i = 0; i < MAX_RETRIES; i++) {
      const now = this.now();
      const before = await this.deps.store.getApproval(input.approval_id);
      if (!before) return { ok: false, error: 'not_found', message: `no approval ${input.approval_id}` };
      if (before.state === 'pending' && before.deadline_at !== null && now >= before.deadline_at) {
        await this.expire(before.approval_id); // record the timeout (and its webhook) first
        continue;
      }
      const action = await this.deps.store.getAction(before.action_id); // read once, for both checks and the write
      const refused = this.selfApproval(before, action, input.approver);
      if (refused) return refused;
      const out = castVote(before.workflow, before, input, now);
      if (!out.ok) return { ok: false, error: out.error, message: out.message, approval: before };
      const written = await this.write(before, out.state, out.vote, now, action);
      if (written) return { ok: true, approval: written };
    }
    throw new Error(`approval ${input.approval_id} kept changing; gave up after ${MAX_RETRIES} tries`);
  }

  /**
   * Separation of duties (approvals.separation_of_duties, default on): the API key that requested
   * an action is not among those who decide it, whatever its role and groups.
   */
  private selfApproval(approval: ApprovalRecord, action: ActionRecord | undefined, approver: string): VoteResult | undefined {
    if (!this.deps.settings.separation_of_duties) return undefined;
    if (action?.requested_by !== approver) return undefined;
    const message = `${approver} requested this action and may not vote on its approval (approvals.separation_of_duties)`;
    return { ok: false, error: 'self_approval', message, approval };
  }

  /** Apply the timeout of an approval whose deadline has passed; returns it as it now stands. */
  async expire(approvalId: string): Promise<ApprovalRecord | undefined> {
    for (let i = 0; i < MAX_RETRIES; i++) {
      const before = await this.deps.store.getApproval(approvalId);
      if (!before) return undefined;
      const now = this.now();
      const out = applyTimeout(before.workflow, before, now);
      if (!out.ok) return before;
      const written = await this.write(before, out.state, undefined, now);
      if (written) {
        const outcome = written.state !== 'pending' ? written.state : written.escalated && !before.escalated ? 'escalated' : undefined;
        if (outcome) this.deps.onTimeout?.({ outcome, approval: written });
        return written;
      }
    }
    throw new Error(`approval ${approvalId} kept changing; gave up after ${MAX_RETRIES} tries`);
  }

  /** The agent reports the outcome of an approved action (emits action.completed once). */
  async complete(input: { action_id: string; status: string; result?: unknown }): Promise<CompleteResult> {
    const { store, events } = this.deps;
    const action = await store.getAction(input.action_id);
    if (!action) return { ok: false, error: 'not_found' };
    const now = this.now();
    const done: ActionRecord = {
      ...action, status: 'completed', completion_status: input.status, completion_result: input.result ?? null, completed_at: now,
    };
    const outbox = events.entries('action.completed', completionEventData(done));
    const r = await store.completeAction({ action_id: input.action_id, status: input.status, result: input.result ?? null, now, outbox });
    if (r.ok && r.changed) {
      if (outbox.length) events.enqueued();
      this.deps.onActionChanged?.(input.action_id);
    }
    return r;
  }

  private async create(req: ApprovalRequest, fingerprint: string, now: number): Promise<ApprovalResolution> {
    const problems = validateWorkflow(req.workflow);
    if (problems.length) throw new TypeError(`invalid workflow: ${problems.join('; ')}`);
    const approvalId = this.newId('apr');
    const action: ActionRecord = {
      action_id: req.action_id ?? this.newId('act'), fingerprint, agent_id: req.agent_id, action_type: req.action_type,
      resource: req.resource, parameters: req.parameters ?? {}, context: req.context ?? {},
      binding: req.binding ?? UNBOUND, decision: 'pending',
      policy_id: req.policy_id ?? null, risk_score: req.risk_score ?? null, reason: req.reason ?? null,
      approval_id: approvalId, status: 'pending', created_at: now, updated_at: now,
      completion_status: null, completion_result: null, completed_at: null, requested_by: req.requested_by ?? null,
    };
    const approval = this.newApproval(approvalId, action, req.workflow, now);
    const { events } = this.deps;
    const outbox = events.entries('action.pending', approvalEventData(action, approval));
    const limits = { per_agent: this.deps.settings.max_pending_per_agent, total: this.deps.settings.max_pending_total };
    // Forgotten even if the call fails: it may have committed. (The fleet skips our own notifications.)
    const r = await this.deps.store.createPendingApproval({ action, approval, outbox, limits })
      .finally(() => this.deps.grants?.forgetFingerprint(fingerprint));
    if ('rejected' in r) {
      this.deps.metrics?.rejected(r.limit);
      return resolution.tooManyPending(action.action_id, action.agent_id, r.limit, r.max);
    }
    if (r.created) {
      if (outbox.length) events.enqueued();
      this.deps.onDeadlineChanged?.();
      this.deps.onActionChanged?.(action.action_id);
    }
    return resolution.pending(r.approval, r.created);
  }

  private newApproval(approvalId: string, action: ActionRecord, workflow: WorkflowDefinition, now: number): ApprovalRecord {
    const { settings } = this.deps;
    return {
      ...startWorkflow(workflow, now), approval_id: approvalId, action_id: action.action_id,
      fingerprint: action.fingerprint, workflow, requested_at: now, grant: settings.grant,
      grant_ttl_seconds: settings.ttl_seconds, grant_expires_at: null, grant_used_at: null, version: 1,
    };
  }

  /** Write one transition; undefined when someone else changed the approval first (re-read). */
  private async write(
    before: ApprovalRecord, next: WorkflowState, vote: CastVote | undefined, now: number, read?: ActionRecord,
  ): Promise<ApprovalRecord | undefined> {
    const action = read ?? await this.deps.store.getAction(before.action_id);
    if (!action) throw new Error(`approval ${before.approval_id} has no action ${before.action_id}`);
    const plan = planTransition(before, action, next, vote, now, this.deps.events);
    const r = await this.deps.store.transitionApproval(plan.transition).finally(() => this.deps.grants?.forgetAction(before.action_id));
    if (!r.ok) {
      if (r.error === 'not_found') throw new Error(`approval ${before.approval_id} vanished`);
      return undefined;
    }
    if (plan.transition.outbox.length) this.deps.events.enqueued();
    if (plan.decided) this.deps.metrics?.decided(plan.decided);
    if (plan.deadlineChanged) this.deps.onDeadlineChanged?.();
    this.deps.onActionChanged?.(before.action_id);
    return r.approval;
  }
}
