/**
 * Nothing accepted is lost on kill -9, end to end: the real CLI as a child process with a store,
 * a pending action created over gRPC and its webhook left undelivered (receiver down), SIGKILL,
 * a restart on the same database, then approval over REST with the receiver back up. The
 * approval completes and every event arrives; repeats only as at-least-once allows (same
 * x-event-id, same body).
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../src/index.js';
import { writeConfig } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { metricValue } from './helpers/metrics.js';
import { spawnSidecar, type Sidecar } from './helpers/process.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const SECRET = 'kill-9-secret';
const dir = tempDir('ascend-kill-');
const cleanup: (() => unknown)[] = [];
afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

const refund = { method: 'POST', path: '/v1/refunds/r-k9?amount=4200', headers: { 'x-agent-id': 'billing-agent' } };
const metrics = async (s: Sidecar) => (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();

async function start(path: string): Promise<{ s: Sidecar; c: AuthzClient }> {
  const s = await spawnSidecar(path, ['--no-watch']);
  const c = new AuthzClient(s.grpcPort);
  cleanup.push(() => c.close(), () => s.stop('SIGKILL'));
  return { s, c };
}

describe('durability across SIGKILL of the sidecar process', () => {
  it('keeps the pending approval and its undelivered webhook; both complete after restart', async () => {
    const probe = await startReceiver(SECRET);
    const port = Number(new URL(probe.url).port);
    await probe.close(); // the receiver is down
    const { path } = writeConfig(storeConfig(dir, CORE, `
webhooks: [{url: "http://127.0.0.1:${port}/hooks", events: ["*"], secret: ${SECRET}}]
webhook_delivery: {initial_backoff_ms: 50, max_backoff_ms: 200}
`), dir);

    const one = await start(path);
    const first = await one.c.check(refund);
    expect(decisionOf(first)).toBe('pending');
    const actionId = header(first, 'x-ascend-action-id');
    const approvalId = header(first, 'x-ascend-approval-id')!;
    await waitFor(async () => metricValue(await metrics(one.s), 'ascend_webhook_deliveries_total{result="failed"}') >= 1, { what: 'a failed delivery' });
    expect(metricValue(await metrics(one.s), 'ascend_webhook_outbox_depth')).toBe(1);
    one.s.proc.kill('SIGKILL');
    expect(await one.s.exited).toBeNull();

    const two = await start(path);
    const api = (m: string, p: string, b?: unknown) => call(`http://127.0.0.1:${two.s.httpPort}`, m, p, KEYS.finance, b);
    expect((await api('GET', `/api/sdk/approval/${approvalId}`)).body).toMatchObject({ status: 'pending', action_id: actionId });
    const retry = await two.c.check(refund);
    expect([decisionOf(retry), header(retry, 'x-ascend-action-id'), header(retry, 'x-ascend-approval-id')]).toEqual(['pending', actionId, approvalId]);

    const receiver: Receiver = await startReceiver(SECRET, port); // back up
    cleanup.push(() => receiver.close());
    expect((await api('POST', `/api/approvals/${approvalId}/approve`, { comment: 'after the crash' })).body.status).toBe('approved');
    const allowed = await two.c.check(refund);
    expect([decisionOf(allowed), header(allowed, 'x-ascend-action-id')]).toEqual(['allowed', actionId]);

    // The delivery the crash interrupted may still hold its 30 s lease: wait on the condition.
    const kinds = () => new Set(receiver.received.map((r) => JSON.parse(r.body).event as string));
    await waitFor(() => kinds().has('action.pending') && kinds().has('action.approved'), { what: 'both events delivered', timeoutMs: 90_000 });
    expect(receiver.received.every((r) => verifyWebhook(SECRET, r.headers, r.body))).toBe(true);
    const byId = new Map<string, Set<string>>();
    for (const r of receiver.received) byId.set(String(r.headers['x-event-id']), (byId.get(String(r.headers['x-event-id'])) ?? new Set()).add(r.body));
    expect([...byId.values()].every((bodies) => bodies.size === 1)).toBe(true); // a repeat is the same event
    const events = [...byId.values()].map((b) => JSON.parse([...b][0]!) as { event: string; data: { approval_id: string } });
    expect(events.filter((e) => e.event.startsWith('action.')).map((e) => [e.event, e.data.approval_id]).sort()).toEqual([
      ['action.approved', approvalId], ['action.pending', approvalId],
    ]);
    await waitFor(async () => metricValue(await metrics(two.s), 'ascend_webhook_outbox_depth') === 0, { what: 'outbox drained' });
    expect(await two.s.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
