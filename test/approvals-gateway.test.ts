/**
 * require_approval through a gateway: real gRPC ext_authz checks, approvals voted over the REST
 * API, a real SQLite store, and a real webhook receiver verifying every signature with the
 * package's verifyWebhook. Gateway retry semantics: pending (same ids on retry) → approve →
 * allowed exactly once → pending again with a new approval; ttl grants until expiry; a denial
 * answers with the approver's reason.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../src/index.js';
import { startApp, type TestApp } from './helpers/app.js';
import { call, KEYS, ManualClock, storeConfig } from './helpers/api.js';
import { AuthzClient, decisionOf, header, metadata, type CheckResponse } from './helpers/grpc-client.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const SECRET = 'gw-hook-secret';
const dir = tempDir('ascend-gw-');
let n = 0;
const refund = (amount: number, id = 'r-9') => ({ method: 'POST', path: `/v1/refunds/${id}?amount=${amount}`, headers: { 'x-agent-id': 'billing-agent' } });
const body = (r: CheckResponse) => JSON.parse(r.denied_response?.body ?? 'null') as Record<string, unknown>;
const ids = (r: CheckResponse) => [header(r, 'x-ascend-action-id'), header(r, 'x-ascend-approval-id')];

let receiver: Receiver;
beforeAll(async () => { receiver = await startReceiver(SECRET); });
afterAll(() => receiver.close());

async function sidecar(extra: string, opts: Parameters<typeof startApp>[1] = {}) {
  const d = join(dir, `app${++n}`);
  mkdirSync(d, { recursive: true });
  const t = await startApp(storeConfig(d, CORE, extra), { ...opts, dir: d });
  const c = new AuthzClient(t.grpcPort);
  const api = (method: string, path: string, key?: string, b?: unknown) => call(t.url(''), method, path, key, b);
  return { t, c, api, dir: d, close: async () => { c.close(); await t.close(); } };
}

const events = (path: string) => receiver.received.filter((r) => r.path === path && r.status === 200).map((r) => JSON.parse(r.body) as { event: string; data: Record<string, any> });

describe('single_use grants over gRPC, with signed webhooks', () => {
  let s: Awaited<ReturnType<typeof sidecar>>;
  beforeAll(async () => {
    receiver.script('/gw', [500, 200]); // the first delivery fails: it must be retried
    s = await sidecar(`
webhooks: [{url: "${receiver.url}/gw", events: ["*"], secret: ${SECRET}}]
webhook_delivery: {initial_backoff_ms: 10, max_backoff_ms: 20}
api: {public_url: "https://ascend.example.com/"}
alerts: {repeated_denials: {count: 2, window_seconds: 60}}
audit_stream: {enabled: true, path: AUDIT_PATH}
`.replace('AUDIT_PATH', JSON.stringify(join(dir, `audit-${n + 1}.jsonl`))));
  });
  afterAll(() => s.close());

  it('pending → same ids on retry → approve → allowed once → pending again with a new approval', async () => {
    const first = await s.c.check(refund(5000));
    expect(first.status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(decisionOf(first)).toBe('pending');
    const [actionId, approvalId] = ids(first);
    expect(approvalId).toMatch(/^apr_/);
    const statusUrl = `https://ascend.example.com/api/sdk/approval/${approvalId}`;
    expect(header(first, 'x-ascend-status-url')).toBe(statusUrl);
    expect(header(first, 'retry-after')).toBe('30');
    expect(body(first)).toMatchObject({ decision: 'pending', approval_id: approvalId, status_url: statusUrl, action_id: actionId });
    expect(metadata(first, 'approval_id')).toBe(approvalId);

    const retry = await s.c.check(refund(5000));
    expect(ids(retry)).toEqual([actionId, approvalId]);

    const vote = await s.api('POST', `/api/approvals/${approvalId}/approve`, KEYS.finance, { comment: 'fine' });
    expect(vote.body.status).toBe('approved');

    const allowed = await s.c.check(refund(5000));
    expect(allowed.status.code ?? 0).toBe(0);
    expect(decisionOf(allowed)).toBe('allowed');
    expect(ids(allowed)).toEqual([actionId, approvalId]);
    expect(header(allowed, 'x-ascend-status-url')).toBe(statusUrl);
    expect(header(allowed, 'retry-after')).toBeUndefined();

    const again = await s.c.check(refund(5000));
    expect(decisionOf(again)).toBe('pending');
    expect(header(again, 'x-ascend-approval-id')).not.toBe(approvalId);
    expect(header(again, 'x-ascend-action-id')).not.toBe(actionId);

    // One action.pending per approval (the retry made none), delivered after a 500, all signed.
    await waitFor(() => events('/gw').filter((e) => e.event.startsWith('action.')).length === 3, { what: 'three action events' });
    const got = receiver.received.filter((r) => r.path === '/gw');
    expect(got.every((r) => verifyWebhook(SECRET, r.headers, r.body))).toBe(true);
    expect(got[0]!.status).toBe(500);
    const sameEvent = got.filter((r) => r.headers['x-event-id'] === got[0]!.headers['x-event-id']);
    expect(sameEvent.map((r) => [r.status, r.body])).toEqual([[500, got[0]!.body], [200, got[0]!.body]]);
    // Retries run beside newer events, so arrival order is not event order (docs/webhooks.md).
    expect(events('/gw').filter((e) => e.event.startsWith('action.')).map((e) => `${e.event} ${e.data.approval_id}`).sort()).toEqual([
      `action.approved ${approvalId}`, `action.pending ${approvalId}`, `action.pending ${header(again, 'x-ascend-approval-id')}`,
    ].sort());
    const text = await (await fetch(s.t.url('/metrics'))).text();
    expect(text).toMatch(/ascend_webhook_deliveries_total\{result="failed"\} [1-9]/);
    expect(text).toContain('ascend_approvals_total{result="approved"} 1');
    expect(text).toMatch(/ascend_approvals_pending \d/);
    expect(text).toMatch(/ascend_webhook_outbox_depth \d/);
  });

  it('a denial answers the retry with the approver\'s reason', async () => {
    const p = await s.c.check(refund(7000, 'r-den'));
    const [, approvalId] = ids(p);
    await s.api('POST', `/api/approvals/${approvalId}/deny`, KEYS.finance2, { comment: 'refund already issued by hand' });
    const r = await s.c.check(refund(7000, 'r-den'));
    expect(decisionOf(r)).toBe('denied');
    expect(body(r)).toMatchObject({ decision: 'denied', code: 'approval_denied', reason: 'refund already issued by hand', approval_id: approvalId });
    expect(r.status.message).toBe('refund already issued by hand');
  });

  it('keeps every non-pending path synchronous; only pending with a store is a Promise', async () => {
    const raw = { adapter: 'envoy' as const, method: 'GET', target: '/v1/orders/1', host: 'api', headers: {} };
    const a = s.t.app.pipeline.check(raw);
    const b = s.t.app.pipeline.check(raw);
    expect(a).not.toBeInstanceOf(Promise);
    expect(b).toMatchObject({ cacheHit: true });
    const denied = s.t.app.pipeline.check({ ...raw, target: '/admin/x' });
    expect(denied).not.toBeInstanceOf(Promise);
    const pending = s.t.app.pipeline.check({ ...raw, method: 'POST', target: '/v1/refunds/sync?amount=5000', headers: { 'x-agent-id': 'billing-agent' } });
    expect(pending).toBeInstanceOf(Promise);
    expect((await pending).decision.decision).toBe('pending');
  });

  it('raises alert.triggered on repeated denials and writes the SIEM stream', async () => {
    for (let i = 0; i < 2; i++) await s.c.check({ method: 'GET', path: '/admin/users', headers: { 'x-agent-id': 'crawler' } });
    await waitFor(() => events('/gw').some((e) => e.event === 'alert.triggered'), { what: 'alert webhook' });
    expect(events('/gw').find((e) => e.event === 'alert.triggered')!.data).toMatchObject({
      rule: 'repeated_denials', agent_id: 'crawler', count: 2, window_seconds: 60, decision: 'denied', adapter: 'envoy',
    });
    const file = join(dir, `audit-${n}.jsonl`);
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('"approval.vote"'), { what: 'audit stream' });
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.type === 'decision' && l.adapter === 'envoy' && l.decision === 'pending')).toMatchObject({
      schema: 1, kind: 'audit', action_type: 'payments.refund', agent_id: 'billing-agent', approval_id: expect.stringMatching(/^apr_/),
    });
    expect(lines.find((l) => l.type === 'approval.vote')).toMatchObject({ approver: 'fred', vote: 'approve', state: 'approved', comment: 'fine' });
  });
});

describe('SIEM stream on stdout', () => {
  it('writes its lines through the logger\'s destination, one JSON object per line', async () => {
    const s = await sidecar('audit_stream: {enabled: true}');
    try {
      const r = await s.c.check({ method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'crawler' } });
      const id = header(r, 'x-ascend-action-id');
      const line = await waitFor(() => s.t.logs.find((l) => l.kind === 'audit' && l.action_id === id), { what: 'audit line' });
      expect(line).toMatchObject({ schema: 1, type: 'decision', adapter: 'envoy', agent_id: 'crawler', decision: 'allowed', code: 'policy_allow' });
      expect(line.level).toBeUndefined(); // not a pino line: the stream's own flat format
    } finally {
      await s.close();
    }
  });
});

describe('ttl grants (fake clock)', () => {
  it('allows every retry until the grant expires, then asks again', async () => {
    const clock = new ManualClock(Date.UTC(2025, 0, 6, 9));
    const s = await sidecar('approvals: {grant: ttl, ttl_seconds: 600}', { app: { now: clock.now, timers: clock.timers } });
    try {
      const [actionId, approvalId] = ids(await s.c.check(refund(5000)));
      await s.api('POST', `/api/approvals/${approvalId}/approve`, KEYS.finance);
      for (const dt of [0, 300_000, 299_999]) {
        clock.advance(dt);
        const r = await s.c.check(refund(5000));
        expect([decisionOf(r), ...ids(r)]).toEqual(['allowed', actionId, approvalId]);
      }
      clock.advance(1);
      const after = await s.c.check(refund(5000));
      expect(decisionOf(after)).toBe('pending');
      expect(header(after, 'x-ascend-approval-id')).not.toBe(approvalId);
      expect((await s.api('GET', `/api/agent-action/status/${actionId}`, KEYS.admin)).body.status).toBe('expired');
    } finally {
      await s.close();
    }
  });
});

describe('store failure', () => {
  it('answers a pending check per fail_mode with code store_error, still a CheckResponse', async () => {
    const s = await sidecar('');
    try {
      await s.t.app.approvals!.store.close();
      const r = await s.c.check(refund(5000));
      expect(r.status.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(body(r)).toMatchObject({ decision: 'denied', code: 'store_error' });
      expect(decisionOf(await s.c.check({ method: 'GET', path: '/v1/orders/1' }))).toBe('allowed');
      expect(await (await fetch(s.t.url('/metrics'))).text()).toContain('ascend_authz_errors_total{adapter="envoy",reason="store_error"} 1');
    } finally {
      await s.close();
    }
  });
});

describe('reload', () => {
  it('swaps webhooks, emits policy.reloaded, and refuses a new store.path', async () => {
    const s = await sidecar(`webhooks: [{url: "${receiver.url}/r1", events: ["*"], secret: ${SECRET}}]`);
    try {
      const text = readFileSync(s.t.configPath, 'utf8');
      writeFileSync(s.t.configPath, text.replace('/r1"', '/r2"'));
      expect((await s.t.app.reload('test')).result).toBe('success');
      await waitFor(() => events('/r2').some((e) => e.event === 'policy.reloaded'), { what: 'policy.reloaded at the new url' });
      expect(events('/r2').find((e) => e.event === 'policy.reloaded')!.data).toMatchObject({ version: 2, policies: 4 });
      expect(events('/r1')).toEqual([]);

      writeFileSync(s.t.configPath, text.replace('ascend.db', 'other.db'));
      const r = await s.t.app.reload('test');
      expect(r).toMatchObject({ result: 'failure', error: expect.stringContaining('store.path changed') });
      expect(s.t.app.state.runtime.version).toBe(2);
      expect(s.t.logs.some((l) => l.msg === 'config reload failed; keeping the last good config')).toBe(true);
    } finally {
      await s.close();
    }
  });
});
