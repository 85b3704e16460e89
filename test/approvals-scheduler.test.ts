/**
 * ApprovalScheduler with vitest fake timers (Date is faked too, so the store, the service and the
 * scheduler all read one clock) over a real SQLite file that outlives a "restart".
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApprovalScheduler } from '../src/approvals/scheduler.js';
import type { WorkflowDefinition } from '../src/approvals/workflow.js';
import { approvalStack, HOUR, payment, T0 } from './helpers/approvals.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('ascend-scheduler-');
let n = 0;
const oneHourDeny: WorkflowDefinition = { steps: [{ approvers: ['ops'], required: 1, timeout_hours: 1 }] };
const twoHourEscalate: WorkflowDefinition = {
  steps: [{ approvers: ['ops'], required: 1, timeout_hours: 2 }],
  escalation: { timeout_action: 'escalate', escalation_approvers: ['sre-lead'] },
};

const schedulers: ApprovalScheduler[] = [];
function schedule(s: ReturnType<typeof approvalStack>, maxSleepMs?: number) {
  const scheduler = new ApprovalScheduler({ store: s.store, expire: (id) => s.service.expire(id) }, maxSleepMs ? { maxSleepMs } : {});
  schedulers.push(scheduler);
  s.onDeadline(() => scheduler.notify());
  return scheduler;
}

beforeEach(() => { vi.useFakeTimers({ now: T0 }); });
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((x) => x.stop()));
  vi.useRealTimers();
});

describe('ApprovalScheduler', () => {
  it('survives a restart: expires what fell due while down, then keeps enforcing deadlines', async () => {
    const name = `restart${++n}`;
    const before = approvalStack(dir, name, {}, () => Date.now());
    const a = await before.request({ ...payment, resource: 'a', workflow: oneHourDeny });
    const b = await before.request({ ...payment, resource: 'b', workflow: twoHourEscalate });
    await before.store.close(); // the sidecar stops with nothing scheduled in memory

    vi.setSystemTime(T0 + 1.5 * HOUR);
    const after = approvalStack(dir, name, {}, () => Date.now());
    await schedule(after).start();
    expect(await after.store.getApproval(a.approval_id)).toMatchObject({ state: 'denied', reason: 'timed out', decided_at: T0 + 1.5 * HOUR });
    expect(await after.store.getApproval(b.approval_id)).toMatchObject({ state: 'pending', escalated: false });

    await vi.advanceTimersByTimeAsync(0.5 * HOUR - 1);
    expect((await after.store.getApproval(b.approval_id))?.escalated).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await after.store.getApproval(b.approval_id)).toMatchObject({ state: 'pending', escalated: true, deadline_at: T0 + 4 * HOUR });

    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(await after.store.getApproval(b.approval_id)).toMatchObject({ state: 'denied', reason: 'timed out after escalation' });
    expect((await after.events()).map((e) => [e.event, e.data.resource])).toEqual([
      ['action.pending', 'a'], ['action.pending', 'b'], ['action.denied', 'a'], ['action.pending', 'b'], ['action.denied', 'b'],
    ]);
    await after.store.close();
  });

  it('re-arms for a new approval whose deadline is earlier than the timer', async () => {
    const s = approvalStack(dir, `notify${++n}`, {}, () => Date.now());
    await schedule(s, 24 * HOUR).start(); // nothing pending: sleeps the maximum
    const p = await s.request({ ...payment, workflow: oneHourDeny });
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(await s.store.getApproval(p.approval_id)).toMatchObject({ state: 'denied', decided_at: T0 + HOUR });
    await s.store.close();
  });

  it('finds approvals created elsewhere (no notify) within maxSleepMs', async () => {
    const name = `shared${++n}`;
    const sidecar = approvalStack(dir, name, {}, () => Date.now());
    const other = approvalStack(dir, name, {}, () => Date.now()); // a second process on the same file
    await schedule(sidecar, 60_000).start(); // next look at the store: T0 + 60 s
    await vi.advanceTimersByTimeAsync(30_000);
    const quick: WorkflowDefinition = { steps: [{ approvers: ['ops'], required: 1, timeout_hours: 18 / 3600 }] };
    const p = await other.request({ ...payment, workflow: quick }); // due at T0 + 48 s
    await vi.advanceTimersByTimeAsync(29_999);
    expect((await sidecar.store.getApproval(p.approval_id))?.state).toBe('pending'); // not seen yet
    await vi.advanceTimersByTimeAsync(1);
    expect(await sidecar.store.getApproval(p.approval_id)).toMatchObject({ state: 'denied', decided_at: T0 + 60_000 });
    await Promise.all([sidecar.store.close(), other.store.close()]);
  });

  it('does nothing after stop', async () => {
    const s = approvalStack(dir, `stop${++n}`, {}, () => Date.now());
    const scheduler = schedule(s);
    await scheduler.start();
    const p = await s.request({ ...payment, workflow: oneHourDeny });
    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect((await s.store.getApproval(p.approval_id))?.state).toBe('pending');
    expect(vi.getTimerCount()).toBe(0);
    await s.store.close();
  });
});
