/**
 * A two-step workflow with timeout escalation, end to end on a fake clock (the buildApp
 * now/timers seam): the scheduler's timers fire when the test moves the clock, approvers vote
 * over the REST API, and the gateway's retry sees the outcome.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { call, KEYS, ManualClock, storeConfig } from './helpers/api.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const HOUR = 3_600_000;
const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8')
  .replace('approvers: [finance-manager]', 'workflow: big-refund');
const WORKFLOWS = `
workflows:
  big-refund:
    steps:
      - {approvers: [team-lead], required: 1, timeout_hours: 2}
      - {approvers: [finance-manager], required: 2, timeout_hours: 8}
    escalation: {timeout_action: escalate, escalation_approvers: [cfo]}
`;
const dir = tempDir('ascend-wf-');
const SIEM = join(dir, 'siem.jsonl');
const clock = new ManualClock(Date.UTC(2025, 0, 6, 9));
let t: TestApp;
let c: AuthzClient;
const api = (method: string, path: string, key?: string, body?: unknown) => call(t.url(''), method, path, key, body);
const refund = (id: string) => c.check({ method: 'POST', path: `/v1/refunds/${id}?amount=5000`, headers: { 'x-agent-id': 'billing-agent' } });
const approval = async (id: string) => (await api('GET', `/api/sdk/approval/${id}`, KEYS.viewer)).body;

beforeAll(async () => {
  mkdirSync(join(dir, 'app'), { recursive: true });
  t = await startApp(storeConfig(join(dir, 'app'), CORE, `${WORKFLOWS}audit_stream: {enabled: true, path: ${JSON.stringify(SIEM)}}\n`), { dir: join(dir, 'app'), app: { now: clock.now, timers: clock.timers } });
  c = new AuthzClient(t.grpcPort);
});
afterAll(async () => {
  c.close();
  await t.close();
});

describe('two-step workflow with timeout escalation', () => {
  it('step 1 → step 2 → escalates on timeout → the escalation approver decides → the retry is allowed', async () => {
    const id = header(await refund('wf-1'), 'x-ascend-approval-id')!;
    expect(await approval(id)).toMatchObject({ workflow: 'big-refund', step: 1, steps: 2, approvers: ['team-lead'], escalated: false });

    clock.advance(HOUR);
    expect((await api('POST', `/api/approvals/${id}/approve`, KEYS.lead)).body).toMatchObject({ status: 'pending', step: 2, approvers: ['finance-manager'], required: 2 });
    expect((await api('POST', `/api/approvals/${id}/approve`, KEYS.finance)).body).toMatchObject({ status: 'pending', step: 2 });
    const twice = await api('POST', `/api/approvals/${id}/approve`, KEYS.finance);
    expect([twice.status, twice.body.error.code]).toEqual([409, 'already_voted']);
    expect(decisionOf(await refund('wf-1'))).toBe('pending');

    clock.advance(8 * HOUR); // step 2 times out: the scheduler escalates to the cfo group
    await waitFor(async () => (await approval(id)).escalated === true, { what: 'escalation' });
    expect(await approval(id)).toMatchObject({ status: 'pending', approvers: ['cfo'], required: 1, deadline_at: new Date(clock.now() + 8 * HOUR).toISOString() });
    const late = await api('POST', `/api/approvals/${id}/approve`, KEYS.finance2);
    expect([late.status, late.body.error.code]).toEqual([403, 'not_an_approver']);

    expect((await api('POST', `/api/approvals/${id}/approve`, KEYS.cfo, { comment: 'ok, once' })).body).toMatchObject({ status: 'approved' });
    const allowed = await refund('wf-1');
    expect(decisionOf(allowed)).toBe('allowed');
    expect(header(allowed, 'x-ascend-approval-id')).toBe(id);
  });

  it('an escalation that also times out denies; the retry is denied with that reason', async () => {
    const id = header(await refund('wf-2'), 'x-ascend-approval-id')!;
    clock.advance(2 * HOUR);
    await waitFor(async () => (await approval(id)).escalated === true, { what: 'step 1 escalation' });
    clock.advance(2 * HOUR);
    await waitFor(async () => (await approval(id)).state === 'denied', { what: 'timeout after escalation' });
    expect(await approval(id)).toMatchObject({ status: 'rejected', rejected_by: null, rejection_reason: 'timed out after escalation' });
    expect((await approval(id)).reason).toBe('timed out after escalation');
    const r = await refund('wf-2');
    expect(decisionOf(r)).toBe('denied');
    expect(JSON.parse(r.denied_response!.body!)).toMatchObject({ code: 'approval_denied', reason: 'timed out after escalation' });
  });

  it('escalations and timeouts are in the log and the SIEM stream, with the approval and its outcome', async () => {
    const logged = t.logs.filter((l) => l.component === 'approvals' && typeof l.outcome === 'string');
    expect(logged.map((l) => [l.msg, l.outcome])).toEqual(expect.arrayContaining([
      ['approval escalated after its deadline', 'escalated'],
      ['approval denied by its timeout', 'denied'],
    ]));
    const lines = await waitFor(() => {
      const l = readFileSync(SIEM, 'utf8').trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
      return l.some((x) => x.type === 'approval.timed_out') ? l : undefined;
    }, { what: 'timeout lines in the SIEM stream' });
    const timeouts = lines.filter((x) => x.type === 'approval.escalated' || x.type === 'approval.timed_out');
    for (const x of timeouts) expect(x).toMatchObject({ kind: 'audit', approval_id: expect.stringMatching(/^apr_/), action_id: expect.any(String), outcome: expect.any(String) });
    expect(timeouts.find((x) => x.type === 'approval.timed_out')).toMatchObject({ outcome: 'denied', reason: 'timed out after escalation' });
  });
});
