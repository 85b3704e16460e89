/**
 * ApprovalService over a real SQLite store: the gateway retry semantics, votes, timeouts and the
 * events each change puts in the outbox.
 */
import { describe, expect, it } from 'vitest';
import { singleStepWorkflow, type WorkflowDefinition } from '../src/approvals/workflow.js';
import { approvalStack, HOUR, payment, T0 } from './helpers/approvals.js';
import { registryValue } from './helpers/metrics.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('ascend-approvals-');
let n = 0;
const stack = (config = {}) => approvalStack(dir, `svc${++n}`, config);
const finance = singleStepWorkflow(['finance-manager'], 4);
const twoStep: WorkflowDefinition = {
  name: 'big-spend',
  steps: [{ approvers: ['team-lead'], required: 1, timeout_hours: 2 }, { approvers: ['finance-manager'], required: 2, timeout_hours: 8 }],
  escalation: { timeout_action: 'escalate', escalation_approvers: ['cfo'] },
};
const fred = { approver: 'fred', groups: ['finance-manager'] };
const fiona = { approver: 'fiona', groups: ['finance-manager'] };

describe('requestApproval: the gateway retry semantics', () => {
  it('pending → same ids on retry → approve → allowed once → pending again (single_use)', async () => {
    const s = stack();
    const first = await s.request({ ...payment, workflow: finance, action_id: 'act_from_pipeline' });
    expect(first).toMatchObject({ decision: 'pending', created: true, action_id: 'act_from_pipeline', reason: 'awaiting approval (step 1 of 1: finance-manager)', deadline_at: T0 + 4 * HOUR });
    s.advance(1000);
    const retry = await s.request({ ...payment, context: { request_id: 'r2' }, workflow: finance, action_id: 'act_other' });
    expect(retry).toMatchObject({ decision: 'pending', created: false, action_id: first.action_id, approval_id: first.approval_id });
    expect((await s.events()).map((e) => e.event)).toEqual(['action.pending']); // one approval, one webhook

    expect(await s.service.vote({ approval_id: first.approval_id, ...fred, vote: 'approve' })).toMatchObject({ ok: true, approval: { state: 'approved' } });
    const allowed = await s.request({ ...payment, workflow: finance });
    expect(allowed).toMatchObject({ decision: 'allowed', action_id: first.action_id, approval_id: first.approval_id, reason: 'approved by fred', grant: 'single_use' });
    const again = await s.request({ ...payment, workflow: finance });
    expect(again).toMatchObject({ decision: 'pending', created: true });
    expect(again.approval_id).not.toBe(first.approval_id);
    const events = await s.events();
    expect(events.map((e) => e.event)).toEqual(['action.approved', 'action.pending']);
    expect(events[0]!.data).toMatchObject({ action_id: first.action_id, approval_id: first.approval_id, status: 'approved', votes: [{ approver: 'fred', vote: 'approve' }] });
  });

  it('a different action (other parameters) is a different approval', async () => {
    const s = stack();
    const a = await s.request({ ...payment, workflow: finance });
    const b = await s.request({ ...payment, parameters: { amount: 6000, currency: 'usd' }, workflow: finance });
    expect(b.approval_id).not.toBe(a.approval_id);
  });

  it('concurrent first requests create one approval', async () => {
    const s = stack();
    const all = await Promise.all(Array.from({ length: 5 }, () => s.request({ ...payment, workflow: finance })));
    expect(new Set(all.map((r) => r.approval_id)).size).toBe(1);
    expect(all.filter((r) => r.decision === 'pending' && r.created)).toHaveLength(1);
  });

  it('ttl grants allow every retry until they expire, then a new approval is needed', async () => {
    const s = stack({ grant: 'ttl', ttl_seconds: 600 });
    const p = await s.request({ ...payment, workflow: finance });
    await s.service.vote({ approval_id: p.approval_id, ...fred, vote: 'approve' });
    for (const dt of [0, 300_000, 299_999]) {
      s.advance(dt);
      expect(await s.request({ ...payment, workflow: finance })).toMatchObject({ decision: 'allowed', grant: 'ttl', grant_expires_at: T0 + 600_000 });
    }
    s.advance(1);
    expect(await s.request({ ...payment, workflow: finance })).toMatchObject({ decision: 'pending', created: true });
    expect((await s.store.getAction(p.action_id))?.status).toBe('expired');
  });

  it('a denial answers retries with the approver reason until denial_ttl_seconds pass', async () => {
    const s = stack({ denial_ttl_seconds: 3600 });
    const p = await s.request({ ...payment, workflow: finance });
    await s.service.vote({ approval_id: p.approval_id, ...fred, vote: 'deny', comment: 'not in budget' });
    s.advance(HOUR - 1);
    expect(await s.request({ ...payment, workflow: finance })).toEqual({
      decision: 'denied', action_id: p.action_id, approval_id: p.approval_id, reason: 'not in budget',
      approval: expect.objectContaining({ approval_id: p.approval_id, state: 'denied' }),
    });
    s.advance(1);
    expect(await s.request({ ...payment, workflow: finance })).toMatchObject({ decision: 'pending', created: true });
    expect((await s.events()).map((e) => [e.event, e.data.reason])).toEqual([
      ['action.pending', 'amount over 1000'], ['action.denied', 'not in budget'], ['action.pending', 'amount over 1000'],
    ]);
  });

  it('never answers pending past a deadline the scheduler has not applied yet', async () => {
    const s = stack();
    const p = await s.request({ ...payment, workflow: finance });
    s.advance(4 * HOUR);
    expect(await s.request({ ...payment, workflow: finance })).toMatchObject({ decision: 'denied', approval_id: p.approval_id, reason: 'timed out' });
  });
});

describe('requestApproval: caps on pending approvals', () => {
  it('answers too_many_pending (no approval, no webhook, counted); agents without an identity share one count', async () => {
    const s = stack({ max_pending_per_agent: 1 });
    const held = await s.request({ ...payment, workflow: finance });
    await s.events();
    const over = await s.service.requestApproval({ ...payment, resource: 'stripe:refunds', workflow: finance, action_id: 'act_over' });
    expect(over).toEqual({
      decision: 'too_many_pending', action_id: 'act_over', limit: 'per_agent',
      reason: 'too many pending approvals: agent billing-agent has 1 (approvals.max_pending_per_agent); retry when some are decided',
    });
    expect(await s.events()).toEqual([]);
    expect(await registryValue(s.registry, 'ascend_approvals_rejected_total', { reason: 'too_many_pending', limit: 'per_agent' })).toBe(1);
    expect(await s.request({ ...payment, workflow: finance })).toMatchObject({ decision: 'pending', created: false, approval_id: held.approval_id });
    expect(await s.service.requestApproval({ ...payment, agent_id: '', workflow: finance })).toMatchObject({ decision: 'pending', created: true });
    expect(await s.service.requestApproval({ ...payment, agent_id: '', resource: 'x', workflow: finance }))
      .toMatchObject({ decision: 'too_many_pending', reason: expect.stringContaining('agents without an identity have 1') });
  });
});

describe('vote', () => {
  it('reports unknown approvals, outsiders, second votes and decided approvals', async () => {
    const s = stack();
    const p = await s.request({ ...payment, workflow: twoStep });
    expect(await s.service.vote({ approval_id: 'apr_nope', ...fred, vote: 'approve' })).toMatchObject({ ok: false, error: 'not_found' });
    expect(await s.service.vote({ approval_id: p.approval_id, ...fred, vote: 'approve' })).toMatchObject({ ok: false, error: 'not_an_approver' });
    const lead = { approver: 'lee', groups: ['team-lead', 'finance-manager'] };
    expect(await s.service.vote({ approval_id: p.approval_id, ...lead, vote: 'approve' })).toMatchObject({ ok: true, approval: { current_step: 1 } });
    expect(await s.service.vote({ approval_id: p.approval_id, ...lead, vote: 'approve' })).toMatchObject({ ok: false, error: 'already_voted' });
    await s.service.vote({ approval_id: p.approval_id, ...fred, vote: 'deny' });
    expect(await s.service.vote({ approval_id: p.approval_id, ...fiona, vote: 'approve' })).toMatchObject({ ok: false, error: 'not_pending' });
  });

  it('concurrent approvals in one step are both counted (optimistic retry)', async () => {
    const s = stack();
    const p = await s.request({ ...payment, workflow: twoStep });
    await s.service.vote({ approval_id: p.approval_id, approver: 'lee', groups: ['team-lead'], vote: 'approve' });
    const both = await Promise.all([
      s.service.vote({ approval_id: p.approval_id, ...fred, vote: 'approve' }),
      s.service.vote({ approval_id: p.approval_id, ...fiona, vote: 'approve' }),
    ]);
    expect(both.map((r) => r.ok)).toEqual([true, true]);
    const final = await s.store.getApproval(p.approval_id);
    expect(final).toMatchObject({ state: 'approved', version: 4 });
    expect(final?.votes.map((v) => v.approver).sort()).toEqual(['fiona', 'fred', 'lee']);
    expect(await registryValue(s.registry, 'ascend_approvals_total', { result: 'approved' })).toBe(1);
  });

  it('two-step with escalation: events announce each new phase; a late vote applies the timeout first', async () => {
    const s = stack();
    const p = await s.request({ ...payment, workflow: twoStep });
    await s.service.vote({ approval_id: p.approval_id, approver: 'lee', groups: ['team-lead'], vote: 'approve' });
    s.advance(10 * HOUR); // step 2's 8 h ran out
    expect(await s.service.vote({ approval_id: p.approval_id, ...fred, vote: 'approve' })).toMatchObject({ ok: false, error: 'not_an_approver' });
    expect(await s.service.vote({ approval_id: p.approval_id, approver: 'carla', groups: ['cfo'], vote: 'approve', comment: 'ok' })).toMatchObject({ ok: true, approval: { state: 'approved', escalated: true } });
    const events = await s.events();
    expect(events.map((e) => [e.event, e.data.step, e.data.escalated, e.data.approvers])).toEqual([
      ['action.pending', 1, false, ['team-lead']],
      ['action.pending', 2, false, ['finance-manager']],
      ['action.pending', 2, true, ['cfo']],
      ['action.approved', 2, true, []],
    ]);
    expect(s.deadlineNotices()).toBe(3); // created, step 2, escalation
  });
});

describe('expire and complete', () => {
  it('expire applies a due timeout once and leaves undue approvals alone', async () => {
    const s = stack();
    const p = await s.request({ ...payment, workflow: finance });
    expect(await s.service.expire(p.approval_id)).toMatchObject({ state: 'pending', version: 1 });
    s.advance(4 * HOUR);
    expect(await s.service.expire(p.approval_id)).toMatchObject({ state: 'denied', reason: 'timed out' });
    expect(await s.service.expire(p.approval_id)).toMatchObject({ state: 'denied', version: 2 });
    expect(await s.service.expire('apr_nope')).toBeUndefined();
    expect(await registryValue(s.registry, 'ascend_approvals_total', { result: 'denied' })).toBe(1);
    expect(await registryValue(s.registry, 'ascend_approvals_pending')).toBe(0);
  });

  it('complete records the outcome and emits action.completed once', async () => {
    const s = stack();
    const p = await s.request({ ...payment, workflow: finance });
    expect(await registryValue(s.registry, 'ascend_approvals_pending')).toBe(1);
    expect(await s.service.complete({ action_id: p.action_id, status: 'success' })).toMatchObject({ ok: false, error: 'invalid_state' });
    await s.service.vote({ approval_id: p.approval_id, ...fred, vote: 'approve' });
    await s.request({ ...payment, workflow: finance });
    s.advance(5000);
    const done = await s.service.complete({ action_id: p.action_id, status: 'success', result: { charge_id: 'ch_1' } });
    expect(done).toMatchObject({ ok: true, changed: true, action: { status: 'completed', completed_at: T0 + 5000 } });
    expect(await s.service.complete({ action_id: p.action_id, status: 'success' })).toMatchObject({ ok: true, changed: false });
    expect(await s.service.complete({ action_id: 'act_nope', status: 'success' })).toEqual({ ok: false, error: 'not_found' });
    const completed = (await s.events()).filter((e) => e.event === 'action.completed');
    expect(completed.map((e) => e.data)).toEqual([{
      action_id: p.action_id, approval_id: p.approval_id, agent_id: 'billing-agent', action_type: 'payment.create',
      resource: 'stripe:charges', status: 'success', result: { charge_id: 'ch_1' }, completed_at: new Date(T0 + 5000).toISOString(),
    }]);
  });

  it('refuses an invalid workflow instead of storing it', async () => {
    const s = stack();
    await expect(s.request({ ...payment, workflow: { steps: [] } })).rejects.toThrow(/invalid workflow: steps/);
  });
});
