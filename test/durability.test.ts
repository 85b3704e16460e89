/**
 * Nothing accepted is lost on kill -9. A child process writes through the real modules and
 * SIGKILLs itself (no close, no checkpoint); the test reopens the file and finishes the work.
 */
import { fork } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalSettings } from '../src/approvals/config.js';
import { ApprovalService } from '../src/approvals/service.js';
import { SqliteStore } from '../src/approvals/store/sqlite/sqlite-store.js';
import { singleStepWorkflow } from '../src/approvals/workflow.js';
import { WebhookDeliveryWorker } from '../src/events/delivery.js';
import { EventPublisher } from '../src/events/publisher.js';
import { compileForChild } from './helpers/compile.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('ascend-durability-');
let child: { file: string; dir: string };
let receiver: Receiver;
beforeAll(async () => {
  child = compileForChild('test/fixtures/crash-writer.ts');
  receiver = await startReceiver('crash-secret');
});
afterAll(async () => {
  await receiver.close();
  rmSync(child.dir, { recursive: true, force: true });
});

interface Written { action_id: string; approval_id: string; status?: number }

/** Run the crash writer; resolve with what it reported once it is dead by SIGKILL. */
function crash(path: string, url: string, mode: 'pending' | 'mid-delivery'): Promise<Written> {
  return new Promise((resolve, reject) => {
    let written: Written | undefined;
    const p = fork(child.file, [path, url, mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    p.on('message', (m) => { written = m as Written; });
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' || !written) reject(new Error(`child exited code=${code} signal=${signal} without reporting`));
      else resolve(written);
    });
  });
}

/** The sidecar after the restart: same file, same config. */
function restart(path: string, url: string, leaseSkewMs = 0) {
  const store = new SqliteStore({ path });
  const subscriptions = () => [{ url, events: ['*' as const], secret: 'crash-secret' }];
  const events = new EventPublisher({ subscriptions });
  const service = new ApprovalService({ store, events, settings: approvalSettings({}) });
  // The dead child's lease (60 s) must run out before its row is offered again; skew the
  // worker's clock instead of waiting.
  const worker = new WebhookDeliveryWorker({ store, subscriptions, now: () => Date.now() + leaseSkewMs });
  return { store, service, worker };
}

const request = {
  agent_id: 'billing-agent', action_type: 'payment.create', resource: 'stripe:charges',
  parameters: { amount: 5000 }, policy_id: 'big-payments', workflow: singleStepWorkflow(['finance-manager'], 24),
};

describe('durability across SIGKILL', () => {
  it('keeps a pending approval, its action and its undelivered webhook; all complete after restart', async () => {
    const path = join(dir, 'pending', 'ascend.db');
    const url = `${receiver.url}/pending`;
    const w = await crash(path, url, 'pending');
    expect(existsSync(`${path}-wal`) && statSync(`${path}-wal`).size).toBeGreaterThan(0); // never checkpointed

    const s = restart(path, url);
    expect(await s.store.getAction(w.action_id)).toMatchObject({ status: 'pending', approval_id: w.approval_id, risk_score: 80 });
    expect(await s.store.getApproval(w.approval_id)).toMatchObject({ state: 'pending', version: 1 });
    expect(await s.store.outboxDepth()).toBe(1);

    expect(await s.service.requestApproval(request)).toMatchObject({ decision: 'pending', created: false, approval_id: w.approval_id });
    expect(await s.worker.runOnce()).toEqual(['delivered']);
    const got = receiver.received.filter((r) => r.path === '/pending');
    expect(got.map((r) => [r.verified.ok, JSON.parse(r.body).event, JSON.parse(r.body).data.approval_id])).toEqual([[true, 'action.pending', w.approval_id]]);

    await s.service.vote({ approval_id: w.approval_id, approver: 'fred', groups: ['finance-manager'], vote: 'approve' });
    expect(await s.service.requestApproval(request)).toMatchObject({ decision: 'allowed', action_id: w.action_id });
    expect(await s.worker.runOnce()).toEqual(['delivered']); // action.approved
    expect(await s.store.outboxDepth()).toBe(0);
    await s.store.close();
  });

  it('redelivers a webhook that was claimed and answered but not marked before the crash (at-least-once)', async () => {
    const path = join(dir, 'mid', 'ascend.db');
    const url = `${receiver.url}/mid`;
    const w = await crash(path, url, 'mid-delivery');
    expect(w.status).toBe(200);
    expect(receiver.received.filter((r) => r.path === '/mid')).toHaveLength(1);

    const s = restart(path, url, 60_000);
    expect(await s.store.outboxDepth()).toBe(1); // claimed, never marked delivered
    expect(await s.worker.runOnce()).toEqual(['delivered']);
    expect(await s.worker.runOnce()).toEqual([]);
    const got = receiver.received.filter((r) => r.path === '/mid');
    expect(got).toHaveLength(2);
    expect(got.every((r) => r.verified.ok)).toBe(true);
    expect(got[1]!.headers['x-event-id']).toBe(got[0]!.headers['x-event-id']); // receivers dedupe on it
    expect(got[1]!.body).toBe(got[0]!.body);
    await s.store.close();
  });
});
