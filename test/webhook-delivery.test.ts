/**
 * Webhook delivery over real HTTP to a real local receiver that verifies signatures, from a real
 * SQLite outbox. Time that the worker sees is `Date.now() + skew`: the receiver checks timestamps
 * against the real clock, and the test moves `skew` to make backoff-delayed retries due instead
 * of sleeping.
 */
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/approvals/store/sqlite/sqlite-store.js';
import { WebhookDeliveryWorker, type DeliveryOptions } from '../src/events/delivery.js';
import { registerWebhookMetrics } from '../src/events/metrics.js';
import { EventPublisher } from '../src/events/publisher.js';
import type { WebhookSubscription } from '../src/events/types.js';
import { registryValue } from './helpers/metrics.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const SECRET = 'whsec-test';
const dir = tempDir('ascend-webhooks-');
let receiver: Receiver;
beforeAll(async () => { receiver = await startReceiver(SECRET); });
afterAll(() => receiver.close());

let n = 0;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); receiver.received.length = 0; });

function setup(path: string, options: DeliveryOptions = {}) {
  const store = new SqliteStore({ path: join(dir, `${++n}.db`) });
  let skew = 0;
  const now = () => Date.now() + skew;
  const subs: WebhookSubscription[] = [{ url: `${receiver.url}${path}`, events: ['*'], secret: SECRET }];
  const registry = new Registry();
  const metrics = registerWebhookMetrics(registry, () => store.outboxDepth());
  const worker = new WebhookDeliveryWorker(
    { store, subscriptions: () => subs, now, random: () => 0.5, metrics },
    { baseBackoffMs: 1000, maxBackoffMs: 8000, ...options },
  );
  const publisher = new EventPublisher({ subscriptions: () => subs, store, now, onEnqueued: () => worker.notify() });
  cleanups.push(() => worker.stop(), () => store.close());
  return { store, worker, publisher, registry, subs, advance: (ms: number) => { skew += ms; } };
}

describe('webhook delivery', () => {
  it('signs, retries after a 500 with backoff, and delivers the same event again', async () => {
    receiver.script('/retry', [500, 200]);
    const { store, worker, publisher, registry, advance } = setup('/retry');
    await publisher.publish('action.pending', { action_id: 'act_1' });
    expect(await registryValue(registry, 'ascend_webhook_outbox_depth')).toBe(1);

    expect(await worker.runOnce()).toEqual(['failed']);
    expect(await worker.runOnce()).toEqual([]); // backoff: floor(0.5 × 1000) ms not yet passed
    advance(500);
    expect(await worker.runOnce()).toEqual(['delivered']);

    const [first, second] = receiver.received;
    expect(receiver.received.map((r) => [r.status, r.verified.ok])).toEqual([[500, true], [200, true]]);
    expect(second!.headers['x-event-id']).toBe(first!.headers['x-event-id']);
    expect(second!.body).toBe(first!.body);
    expect(JSON.parse(first!.body)).toMatchObject({ event: 'action.pending', data: { action_id: 'act_1' } });
    // The event id receivers de-duplicate on is in the signed body; the header is a copy.
    expect(JSON.parse(first!.body).id).toMatch(/^evt_/);
    expect(JSON.parse(first!.body).id).toBe(first!.headers['x-event-id']);
    expect(first!.headers['content-type']).toBe('application/json');
    expect(await store.outboxDepth()).toBe(0);
    expect(await registryValue(registry, 'ascend_webhook_deliveries_total', { result: 'failed' })).toBe(1);
    expect(await registryValue(registry, 'ascend_webhook_deliveries_total', { result: 'delivered' })).toBe(1);
    expect(await registryValue(registry, 'ascend_webhook_outbox_depth')).toBe(0);
  });

  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    receiver.script('/moved', [{ status: 302, headers: { location: `${receiver.url}/target` } }]);
    const { store, worker, publisher } = setup('/moved');
    await publisher.publish('action.denied', { action_id: 'act_2' });
    expect(await worker.runOnce()).toEqual(['failed']);
    expect(receiver.received.map((r) => r.path)).toEqual(['/moved']);
    const [row] = await store.claimOutbox(Date.now() + 60_000, 10, 1000);
    expect(row).toMatchObject({ attempts: 2, last_error: 'HTTP 302 (redirects are not followed)' });
  });

  it('dead-letters after maxAttempts and stops trying', async () => {
    receiver.script('/down', [503]);
    const { store, worker, publisher, registry, advance } = setup('/down', { maxAttempts: 3 });
    await publisher.publish('action.approved', { action_id: 'act_3' });
    const results: string[] = [];
    for (let i = 0; i < 3; i++) {
      results.push(...(await worker.runOnce()));
      advance(8000); // ≥ any jittered wait with maxBackoffMs 8000
    }
    expect(results).toEqual(['failed', 'failed', 'dead']);
    expect(await worker.runOnce()).toEqual([]);
    expect(receiver.received).toHaveLength(3);
    const dead = await store.listDeadLetters({ limit: 10 });
    expect(dead.items).toHaveLength(1);
    expect(dead.items[0]).toMatchObject({ state: 'dead', attempts: 3, last_error: 'HTTP 503', event: 'action.approved' });
    expect(await store.outboxDepth()).toBe(0);
    expect(await registryValue(registry, 'ascend_webhook_deliveries_total', { result: 'dead' })).toBe(1);
    expect(await registryValue(registry, 'ascend_webhook_deliveries_total', { result: 'failed' })).toBe(2);
  });

  it('times out an attempt the receiver never answers', async () => {
    receiver.script('/hang', ['hang']);
    const { store, worker, publisher, advance } = setup('/hang', { timeoutMs: 100, leaseMs: 5000 });
    await publisher.publish('action.pending', {});
    expect(await worker.runOnce()).toEqual(['failed']);
    advance(10_000);
    expect((await store.claimOutbox(Date.now() + 10_000, 1, 1000))[0]?.last_error).toBe('timed out after 100 ms');
  });

  it('reports a refused connection and dead-letters rows whose subscription is gone', async () => {
    const gone = await startReceiver(SECRET);
    await gone.close();
    const { store, worker, publisher, subs, advance } = setup('/x');
    subs[0] = { ...subs[0]!, url: gone.url };
    await publisher.publish('action.pending', {});
    expect(await worker.runOnce()).toEqual(['failed']);
    advance(10_000);
    expect((await store.claimOutbox(Date.now() + 10_000, 1, 0))[0]?.last_error).toBe('ECONNREFUSED');
    subs.length = 0;
    expect(await worker.runOnce()).toEqual(['dead']);
    expect((await store.listDeadLetters({ limit: 1 })).items[0]?.last_error).toBe('no subscription for this url any more');
  });

  it('runs on its own once started: publish → notify → delivered', async () => {
    const { store, worker, publisher } = setup('/live', { pollIntervalMs: 50 });
    worker.start();
    await publisher.publish('policy.reloaded', { version: 2 });
    await waitFor(() => receiver.received.some((r) => r.path === '/live'), { what: 'delivery' });
    await waitFor(async () => (await store.outboxDepth()) === 0, { what: 'outbox drained' });
    await worker.stop();
    expect(receiver.received.filter((r) => r.path === '/live').map((r) => r.verified.ok)).toEqual([true]);
  });
});
