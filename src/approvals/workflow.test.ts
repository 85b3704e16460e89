import { describe, expect, it } from 'vitest';
import {
  applyTimeout, castVote, currentApprovers, requiredApprovals, singleStepWorkflow, startWorkflow,
  validateWorkflow, type Ballot, type WorkflowDefinition, type WorkflowState,
} from './workflow.js';

const H = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);

const oneStep = singleStepWorkflow(['finance-manager'], 24);
const twoStep: WorkflowDefinition = {
  name: 'two-step',
  steps: [
    { approvers: ['team-lead'], required: 2, timeout_hours: 4 },
    { approvers: ['finance-manager', 'cfo'], required: 1, timeout_hours: 8 },
  ],
  escalation: { timeout_action: 'escalate', escalation_approvers: ['vp'] },
};
const approveOnTimeout: WorkflowDefinition = { ...oneStep, escalation: { timeout_action: 'approve' } };
const denyOnTimeout: WorkflowDefinition = { ...oneStep, escalation: { timeout_action: 'deny' } };

const ballot = (approver: string, groups: string[], vote: 'approve' | 'deny' = 'approve', comment?: string): Ballot =>
  ({ approver, groups, vote, ...(comment === undefined ? {} : { comment }) });

type Op =
  | { at: number; vote: Ballot; expect: Expected }
  | { at: number; timeout: true; expect: Expected };
interface Expected {
  ok?: boolean; error?: string; state?: WorkflowState['state']; step?: number; escalated?: boolean;
  reason?: string | null; deadline?: number | null; timed_out?: boolean;
}
interface Case { name: string; def: WorkflowDefinition; ops: Op[] }

const cases: Case[] = [
  {
    name: 'one-step: a member approves',
    def: oneStep,
    ops: [{ at: T0 + 1, vote: ballot('alice', ['finance-manager']), expect: { ok: true, state: 'approved', reason: null, deadline: null } }],
  },
  {
    name: 'one-step: a non-member is refused and nothing changes',
    def: oneStep,
    ops: [
      { at: T0 + 1, vote: ballot('mallory', ['sales']), expect: { ok: false, error: 'not_an_approver', state: 'pending' } },
      { at: T0 + 2, vote: ballot('alice', ['finance-manager']), expect: { ok: true, state: 'approved' } },
    ],
  },
  {
    name: 'one denial ends it with the comment as reason',
    def: oneStep,
    ops: [
      { at: T0 + 1, vote: ballot('alice', ['finance-manager'], 'deny', 'amount too high'), expect: { state: 'denied', reason: 'amount too high' } },
      { at: T0 + 2, vote: ballot('bob', ['finance-manager']), expect: { ok: false, error: 'not_pending', state: 'denied' } },
    ],
  },
  {
    name: 'a denial without comment names the approver',
    def: oneStep,
    ops: [{ at: T0 + 1, vote: ballot('alice', ['finance-manager'], 'deny'), expect: { state: 'denied', reason: 'denied by alice' } }],
  },
  {
    name: 'two-step: required 2, each approver once, then next step with its own deadline',
    def: twoStep,
    ops: [
      { at: T0 + 1, vote: ballot('lee', ['team-lead']), expect: { ok: true, state: 'pending', step: 0, deadline: T0 + 4 * H } },
      { at: T0 + 2, vote: ballot('lee', ['team-lead']), expect: { ok: false, error: 'already_voted', step: 0 } },
      { at: T0 + 3, vote: ballot('kim', ['team-lead']), expect: { ok: true, state: 'pending', step: 1, deadline: T0 + 3 + 8 * H } },
      { at: T0 + 4, vote: ballot('lee', ['team-lead', 'cfo']), expect: { ok: false, error: 'already_voted', step: 1 } },
      { at: T0 + 5, vote: ballot('kim2', ['team-lead']), expect: { ok: false, error: 'not_an_approver', step: 1 } },
      { at: T0 + 6, vote: ballot('carol', ['cfo']), expect: { ok: true, state: 'approved' } },
    ],
  },
  {
    name: 'two-step: a denial in step 2 ends it',
    def: twoStep,
    ops: [
      { at: T0 + 1, vote: ballot('lee', ['team-lead']), expect: { step: 0 } },
      { at: T0 + 2, vote: ballot('kim', ['team-lead']), expect: { step: 1 } },
      { at: T0 + 3, vote: ballot('fred', ['finance-manager'], 'deny', 'no budget'), expect: { state: 'denied', reason: 'no budget' } },
    ],
  },
  {
    name: 'timeout before the deadline is not due',
    def: twoStep,
    ops: [{ at: T0 + 4 * H - 1, timeout: true, expect: { ok: false, error: 'not_due', state: 'pending' } }],
  },
  {
    name: 'escalate: escalation approvers take over with a fresh deadline; one approval approves',
    def: twoStep,
    ops: [
      { at: T0 + 4 * H, timeout: true, expect: { ok: true, state: 'pending', escalated: true, step: 0, deadline: T0 + 8 * H } },
      { at: T0 + 4 * H + 1, vote: ballot('kim', ['team-lead']), expect: { ok: false, error: 'not_an_approver' } },
      { at: T0 + 4 * H + 2, vote: ballot('vera', ['vp']), expect: { ok: true, state: 'approved' } },
    ],
  },
  {
    name: 'escalate: a second timeout after escalation denies',
    def: twoStep,
    ops: [
      { at: T0 + 5 * H, timeout: true, expect: { escalated: true, deadline: T0 + 9 * H } },
      { at: T0 + 9 * H, timeout: true, expect: { ok: true, state: 'denied', reason: 'timed out after escalation' } },
      { at: T0 + 9 * H + 1, timeout: true, expect: { ok: false, error: 'not_pending' } },
    ],
  },
  {
    name: 'escalate on step 2 uses step 2 length',
    def: twoStep,
    ops: [
      { at: T0 + 1, vote: ballot('lee', ['team-lead']), expect: { step: 0 } },
      { at: T0 + 2, vote: ballot('kim', ['team-lead']), expect: { step: 1, deadline: T0 + 2 + 8 * H } },
      { at: T0 + 2 + 8 * H, timeout: true, expect: { escalated: true, step: 1, deadline: T0 + 2 + 16 * H } },
    ],
  },
  {
    name: 'a late vote first applies the timeout, then counts in the escalated phase',
    def: twoStep,
    ops: [
      { at: T0 + 4 * H + 10, vote: ballot('lee', ['team-lead']), expect: { ok: false, error: 'not_an_approver', escalated: true } },
      { at: T0 + 4 * H + 20, vote: ballot('vera', ['vp']), expect: { ok: true, state: 'approved', timed_out: false } },
    ],
  },
  {
    name: 'a late vote on a deny-on-timeout workflow is refused as not pending',
    def: oneStep,
    ops: [{ at: T0 + 24 * H, vote: ballot('alice', ['finance-manager']), expect: { ok: false, error: 'not_pending', state: 'denied', reason: 'timed out' } }],
  },
  {
    name: 'timeout_action deny',
    def: denyOnTimeout,
    ops: [{ at: T0 + 24 * H, timeout: true, expect: { ok: true, state: 'denied', reason: 'timed out' } }],
  },
  {
    name: 'timeout_action approve',
    def: approveOnTimeout,
    ops: [{ at: T0 + 24 * H, timeout: true, expect: { ok: true, state: 'approved', reason: 'approved on timeout' } }],
  },
  {
    name: 'no escalation block defaults to deny',
    def: { steps: [{ approvers: ['a'], required: 1, timeout_hours: 0.5 }] },
    ops: [{ at: T0 + H / 2, timeout: true, expect: { state: 'denied', reason: 'timed out' } }],
  },
];

describe('workflow state machine', () => {
  it.each(cases)('$name', ({ def, ops }) => {
    expect(validateWorkflow(def)).toEqual([]);
    let s = startWorkflow(def, T0);
    for (const op of ops) {
      const out = 'vote' in op ? castVote(def, s, op.vote, op.at) : applyTimeout(def, s, op.at);
      const e = op.expect;
      if (e.ok !== undefined) expect(out.ok).toBe(e.ok);
      if (e.error !== undefined) expect(out.ok ? undefined : out.error).toBe(e.error);
      if (e.state !== undefined) expect(out.state.state).toBe(e.state);
      if (e.step !== undefined) expect(out.state.current_step).toBe(e.step);
      if (e.escalated !== undefined) expect(out.state.escalated).toBe(e.escalated);
      if (e.reason !== undefined) expect(out.state.reason).toBe(e.reason);
      if (e.deadline !== undefined) expect(out.state.deadline_at).toBe(e.deadline);
      if (e.timed_out !== undefined && out.ok && 'timed_out' in out) expect(out.timed_out).toBe(e.timed_out);
      if (out.ok && out.state.state !== 'pending' && !('vote' in op && out.state.reason?.startsWith('timed')))
        expect(out.state.decided_at).toBe(op.at);
      s = out.state;
    }
  });

  it('records each accepted vote with its phase and never mutates the input', () => {
    const s0 = startWorkflow(twoStep, T0);
    const frozen = JSON.stringify(s0);
    const out = castVote(twoStep, s0, ballot('lee', ['team-lead'], 'approve', 'ok'), T0 + 5);
    expect(JSON.stringify(s0)).toBe(frozen);
    expect(out.ok && out.vote).toEqual({
      approver: 'lee', groups: ['team-lead'], vote: 'approve', comment: 'ok', step: 0, escalated: false, at: T0 + 5,
    });
  });

  it('reports the current approvers and required count per phase', () => {
    let s = startWorkflow(twoStep, T0);
    expect([currentApprovers(twoStep, s), requiredApprovals(twoStep, s)]).toEqual([['team-lead'], 2]);
    s = applyTimeout(twoStep, s, T0 + 4 * H).state;
    expect([currentApprovers(twoStep, s), requiredApprovals(twoStep, s)]).toEqual([['vp'], 1]);
  });

  it.each([
    [{ steps: [] }, ['steps: at least one step is required']],
    [{ steps: [{ approvers: [], required: 0, timeout_hours: 0 }] }, [
      'steps[0].approvers: at least one group is required',
      'steps[0].required: must be an integer ≥ 1',
      'steps[0].timeout_hours: must be a number > 0',
    ]],
    [{ steps: [{ approvers: ['a'], required: 1, timeout_hours: 1 }], escalation: { timeout_action: 'escalate' } },
      ['escalation.escalation_approvers: required when timeout_action is escalate']],
  ] as [WorkflowDefinition, string[]][])('validates %j', (def, errors) => {
    expect(validateWorkflow(def)).toEqual(errors);
  });
});
