/**
 * The ext_authz v3 server over a real gRPC socket, on the core contract config.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withAppAndClient } from './helpers/app-client.js';
import { AuthzClient, decisionOf, header, metadata, type CheckResponse } from './helpers/grpc-client.js';
import { startApp, type TestApp } from './helpers/app.js';
import { scrape, metricValue, waitFor } from './helpers/metrics.js';

export const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function body(r: CheckResponse): Record<string, unknown> {
  return JSON.parse(r.denied_response?.body ?? 'null') as Record<string, unknown>;
}

describe('ext_authz Check on the core contract config', () => {
  let t: TestApp;
  let c: AuthzClient;
  beforeAll(async () => {
    t = await startApp(CORE);
    c = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    c.close();
    await t.close();
  });

  it('allows with status OK, ok_response headers and dynamic metadata', async () => {
    const r = await c.check({ method: 'GET', path: '/v1/orders/42' });
    expect(r.status.code ?? 0).toBe(0);
    expect(r.http_response).toBe('ok_response');
    expect(decisionOf(r)).toBe('allowed');
    expect(header(r, 'x-ascend-action-id')).toMatch(UUID);
    expect(header(r, 'x-ascend-risk-score')).toMatch(/^\d+$/);
    expect(r.ok_response?.headers?.[0]?.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    expect(metadata(r, 'decision')).toBe('allowed');
    expect(metadata(r, 'policy_id')).toBe('pol_orders_read');
    expect(metadata(r, 'action_id')).toBe(header(r, 'x-ascend-action-id'));
    expect(metadata(r, 'risk_score')).toBe(Number(header(r, 'x-ascend-risk-score')));
  });

  it('denies with PERMISSION_DENIED, HTTP 403 and a JSON body', async () => {
    const r = await c.check({ method: 'GET', path: '/admin/users', headers: { 'x-agent-id': 'billing-agent' } });
    expect(r.status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.http_response).toBe('denied_response');
    expect(r.denied_response?.status?.code).toBe('Forbidden');
    expect(header(r, 'content-type')).toBe('application/json');
    expect(decisionOf(r)).toBe('denied');
    expect(body(r)).toMatchObject({ decision: 'denied', policy_id: 'pol_admin_deny', action_id: header(r, 'x-ascend-action-id'), reason: expect.stringContaining('No agent touches admin') });
  });

  it('answers pending for a large refund, with approval id and retry-after', async () => {
    const r = await c.check({ method: 'POST', path: '/v1/refunds/r-9?amount=5000', headers: { 'x-agent-id': 'billing-agent' } });
    expect(r.status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.denied_response?.status?.code).toBe('Forbidden');
    expect(decisionOf(r)).toBe('pending');
    const approval = header(r, 'x-ascend-approval-id');
    expect(approval).toMatch(/^apr_/);
    expect(header(r, 'retry-after')).toBe('30');
    expect(body(r)).toMatchObject({ decision: 'pending', policy_id: 'pol_refund_large', approval_id: approval });
    expect(metadata(r, 'approval_id')).toBe(approval);
  });

  it('decides refunds by agent type and amount', async () => {
    const refund = (agent: string, amount: string) =>
      c.check({ method: 'POST', path: `/v1/refunds/r-1?amount=${amount}`, headers: { 'x-agent-id': agent } }).then(decisionOf);
    expect(await refund('billing-agent', '1000')).toBe('allowed');
    expect(await refund('billing-agent', '1000.01')).toBe('pending');
    expect(await refund('crawler', '10')).toBe('denied');
    expect(await refund('unknown-bot', '10')).toBe('denied');
  });

  it('gives unmatched requests the default action and default decision', async () => {
    const r = await c.check({ method: 'PUT', path: '/v2/things/1', host: 'Svc.Internal:80' });
    expect(decisionOf(r)).toBe('denied');
    expect(body(r)).toMatchObject({ policy_id: null, code: 'default_deny' });
    const line = t.decisions().find((l) => l.action_id === header(r, 'x-ascend-action-id'));
    expect(line).toMatchObject({ action_type: 'http.put', resource: 'svc.internal/v2/things/1', decision: 'denied' });
  });

  it('identifies the agent from jwt_authn metadata', async () => {
    const r = await c.check({ method: 'POST', path: '/v1/refunds/r-1?amount=10', jwtPayload: { sub: 'billing-agent', iss: 'idp' } });
    expect(decisionOf(r)).toBe('allowed');
    expect(metadata(r, 'agent_id')).toBe('billing-agent');
  });

  it.each(['/v1/orders/../../admin/x', '/%61dmin/x', '//admin/x', '/admin;x=1/x', '/v1/orders/%2e%2e/%2e%2e/admin/x', '/ADMIN/../admin/x'])(
    'evaluates the traversal trick %s as the admin path',
    async (path) => {
      const r = await c.check({ method: 'GET', path });
      expect(decisionOf(r)).toBe('denied');
      expect(body(r).policy_id).toBe('pol_admin_deny');
      const line = t.decisions().find((l) => l.action_id === header(r, 'x-ascend-action-id'));
      expect(line).toMatchObject({ path: '/admin/x', raw_target: path, action_type: 'admin.access', resource: '/admin/x' });
    },
  );

  it('denies malformed paths with HTTP 400 and names the problem', async () => {
    for (const [path, code] of [['/admin%2Fx', 'encoded_slash'], ['/a%zz', 'invalid_encoding'], ['relative', 'invalid_path']] as const) {
      const r = await c.check({ method: 'GET', path });
      expect(r.status.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(r.denied_response?.status?.code).toBe('BadRequest');
      expect(body(r)).toMatchObject({ decision: 'denied', code });
    }
  });

  it('removes client-sent x-ascend-* headers and overwrites its own', async () => {
    const r = await c.check({ method: 'GET', path: '/v1/orders/1', headers: { 'x-ascend-decision': 'allowed', 'x-ascend-approval-id': 'apr_forged', 'x-ascend-foo': '1' } });
    expect(decisionOf(r)).toBe('allowed');
    expect(r.ok_response?.headers_to_remove?.sort()).toEqual(['x-ascend-approval-id', 'x-ascend-foo']);
    expect(r.ok_response?.headers?.filter((h) => h.header.key === 'x-ascend-decision')).toHaveLength(1);
  });

  it('does not let a client header name an agent that is not a configured source', async () => {
    const r = await c.check({ method: 'POST', path: '/v1/refunds/r-1?amount=5', headers: { 'x-agent': 'billing-agent', 'x_agent_id': 'billing-agent' } });
    expect(decisionOf(r)).toBe('denied');
  });

  it('serves a repeated check from the cache, visible in metrics and the decision log', async () => {
    const before = metricValue(await scrape(t.url('/metrics')), 'ascend_decision_cache_hits_total');
    const req = { method: 'GET', path: '/v1/orders/cache-me', headers: { 'x-agent-id': 'crawler' } };
    const a = await c.check(req);
    const b = await c.check(req);
    expect(decisionOf(b)).toBe('allowed');
    expect(metadata(a, 'cache_hit')).toBe(false);
    expect(metadata(b, 'cache_hit')).toBe(true);
    expect(header(a, 'x-ascend-action-id')).not.toBe(header(b, 'x-ascend-action-id'));
    const after = metricValue(await scrape(t.url('/metrics')), 'ascend_decision_cache_hits_total');
    expect(after).toBe(before + 1);
    expect(t.decisions().find((l) => l.action_id === header(b, 'x-ascend-action-id'))?.cache_hit).toBe(true);
  });

  it('never caches a pending decision', async () => {
    const req = { method: 'POST', path: '/v1/refunds/r-77?amount=9000', headers: { 'x-agent-id': 'billing-agent' } };
    await c.check(req);
    const again = await c.check(req);
    expect(decisionOf(again)).toBe('pending');
    expect(metadata(again, 'cache_hit')).toBe(false);
  });

  it('answers a malformed protobuf message with a denial, not a gRPC error', async () => {
    const raw = new grpc.Client(`127.0.0.1:${t.grpcPort}`, grpc.credentials.createInsecure());
    const res = await new Promise<Buffer>((resolve, reject) =>
      raw.makeUnaryRequest('/envoy.service.auth.v3.Authorization/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), (e, v) => (e ? reject(e) : resolve(v as Buffer))),
    );
    raw.close();
    // status { code: 7 } → field 1 (len) containing field 1 varint 7.
    expect(res.subarray(0, 4)).toEqual(Buffer.from([0x0a, res[1] as number, 0x08, 0x07]));
    const ok = await c.check({ method: 'GET', path: '/v1/orders/1' });
    expect(decisionOf(ok)).toBe('allowed');
  });

  it('writes one decision-log line per check with the documented fields', async () => {
    const r = await c.check({ method: 'GET', path: '/v1/orders/7', id: 'req-abc', headers: { 'x-agent-id': 'log-agent', authorization: 'Bearer secret' } });
    const line = t.decisions().find((l) => l.action_id === header(r, 'x-ascend-action-id'));
    expect(line).toMatchObject({ request_id: 'req-abc', adapter: 'envoy', agent_id: 'log-agent', action_type: 'orders.read', resource: 'orders', decision: 'allowed', policy_id: 'pol_orders_read', cache_hit: false });
    expect(typeof line?.latency_us).toBe('number');
    expect(typeof line?.risk_score).toBe('number');
    expect(JSON.stringify(t.logs)).not.toContain('Bearer secret');
  });

  it('exposes Prometheus metrics with the documented names', async () => {
    const res = await fetch(t.url('/metrics'));
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    for (const name of ['ascend_authz_decisions_total{adapter="envoy",decision="allowed"}', 'ascend_authz_check_duration_seconds_bucket{le="0.0001",adapter="envoy"}', 'ascend_decision_cache_hits_total', 'ascend_decision_cache_misses_total', 'ascend_policy_reloads_total{result="success"}', 'ascend_decision_cache_entries']) {
      expect(text).toContain(name);
    }
    expect(metricValue(text, 'ascend_authz_decisions_total{adapter="envoy",decision="pending"}')).toBeGreaterThan(0);
  });

  it('reports health SERVING, and NOT_FOUND for unknown services', async () => {
    expect(await c.healthCheck('')).toEqual({ status: 'SERVING' });
    expect(await c.healthCheck('envoy.service.auth.v3.Authorization')).toEqual({ status: 'SERVING' });
    await expect(c.healthCheck('nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

describe('identity from the mTLS principal', () => {
  it('maps a registered principal, or uses the principal itself', async () => {
    const yaml = CORE.replace('{id: billing-agent, type: supervised, capabilities: [payments]}', '{id: billing-agent, type: supervised, capabilities: [payments], principals: ["spiffe://cluster.local/ns/pay/sa/billing"]}');
    await withAppAndClient(yaml, async (t, c) => {
      const r = await c.check({ method: 'POST', path: '/v1/refunds/r-1?amount=5', principal: 'spiffe://cluster.local/ns/pay/sa/billing' });
      expect(decisionOf(r)).toBe('allowed');
      expect(metadata(r, 'agent_id')).toBe('billing-agent');
      const other = await c.check({ method: 'POST', path: '/v1/refunds/r-1?amount=5', principal: 'spiffe://cluster.local/ns/x/sa/y' });
      expect(decisionOf(other)).toBe('denied');
      expect(metadata(other, 'agent_id')).toBe('spiffe://cluster.local/ns/x/sa/y');
    });
  });
});

describe('reload', () => {
  it('a valid reload changes decisions; an invalid one keeps the last good config', async () => {
    await withAppAndClient(CORE, async (t, c) => {
      const orders = () => c.check({ method: 'GET', path: '/v1/orders/1' }).then(decisionOf);
      expect(await orders()).toBe('allowed');
      expect(await orders()).toBe('allowed'); // now cached

      writeFileSync(t.configPath, CORE.replace('conditions: {action_type: orders.read}, action: allow', 'conditions: {action_type: orders.read}, action: deny'));
      expect(await t.app.reload('test')).toMatchObject({ result: 'success', version: 2 });
      expect(await orders()).toBe('denied');

      writeFileSync(t.configPath, 'policies: [{id: x, action: maybe}]');
      const failed = await t.app.reload('test');
      expect(failed).toMatchObject({ result: 'failure', error: expect.stringContaining('policies[0].action') });
      expect(await orders()).toBe('denied');
      expect((await fetch(t.url('/readyz'))).status).toBe(200);
      expect(await c.healthCheck()).toEqual({ status: 'SERVING' });
      const text = await scrape(t.url('/metrics'));
      expect(metricValue(text, 'ascend_policy_reloads_total{result="failure"}')).toBe(1);
      expect(metricValue(text, 'ascend_policy_reloads_total{result="success"}')).toBe(2);
      expect(t.logs.some((l) => l.msg === 'config reload failed; keeping the last good config')).toBe(true);
    });
  });

  it('picks up a file change by itself', async () => {
    await withAppAndClient(CORE, { watch: true }, async (t, c) => {
      expect(decisionOf(await c.check({ method: 'GET', path: '/admin/x' }))).toBe('denied');
      writeFileSync(t.configPath, CORE.replace('action: deny}', 'action: allow}'));
      await waitFor(async () => decisionOf(await c.check({ method: 'GET', path: '/admin/x' })) === 'allowed');
    });
  });
});

describe('fail_mode', () => {
  it.each([
    ['closed', 'denied'],
    ['open', 'allowed'],
  ] as const)('%s: an evaluation error answers %s, never a gRPC error', async (mode, want) => {
    await withAppAndClient(CORE.replace('fail_mode: closed', `fail_mode: ${mode}`), async (t, c) => {
      // Simulates an internal failure inside the engine (there is no input that makes it throw).
      vi.spyOn(t.app.state.runtime.engine, 'evaluate').mockImplementation(() => {
        throw new Error('boom');
      });
      const r = await c.check({ method: 'GET', path: '/v1/orders/1' });
      expect(decisionOf(r)).toBe(want);
      if (mode === 'open') {
        expect(r.status.code ?? 0).toBe(0);
        expect(header(r, 'x-ascend-fail-open')).toBe('true');
        expect(metricValue(await scrape(t.url('/metrics')), 'ascend_fail_open_total{adapter="envoy"}')).toBe(1);
      } else {
        expect(r.status.code).toBe(grpc.status.PERMISSION_DENIED);
        expect(body(r)).toMatchObject({ code: 'evaluation_error' });
      }
      expect(t.logs.some((l) => l.msg === 'evaluation failed; answering per fail_mode')).toBe(true);
    });
  });
});

describe('shutdown', () => {
  it('reports NOT_SERVING and not ready while draining', async () => {
    const t = await startApp(CORE);
    const c = new AuthzClient(t.grpcPort);
    const seen: string[] = [];
    // Health Watch stream: SERVING first, NOT_SERVING when draining starts.
    const client = c as unknown as { health: grpc.Client & { Watch(req: unknown): grpc.ClientReadableStream<{ status: string }> } };
    const s = client.health.Watch({ service: '' });
    s.on('data', (m: { status: string }) => seen.push(m.status));
    s.on('error', () => {});
    await waitFor(() => seen.length === 1);
    const done = t.app.shutdown(2000);
    expect((await fetch(t.url('/readyz')).catch(() => ({ status: 503 }))).status).toBe(503);
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    await done;
    c.close();
  });
});
