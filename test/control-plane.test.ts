/**
 * Edges that evaluate through a control plane (evaluator.mode remote), all real processes: a
 * control-plane sidecar (SQLite store, the quickstart policies, a `gateway` key) and edge
 * sidecars in front of it, asked over real gRPC (ext_authz) and real HTTP (forward-auth). What
 * stands between them in some tests is a TCP relay in this process that can forward, refuse
 * (reset every connection) or blackhole (accept and never answer) — a control plane that went
 * away, without killing and restarting the real one.
 */
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyDigest } from './helpers/api.js';
import { AuthzClient, header, type CheckResponse } from './helpers/grpc-client.js';
import { sample } from './helpers/http.js';
import { apiDecisions, metricsOf, metricValue } from './helpers/metrics.js';
import { spawnSidecar, type Sidecar } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

// Each test starts sidecar processes: on a loaded machine that alone takes seconds.
vi.setConfig({ testTimeout: 90_000 });

const dir = tempDir('ascend-cp-');
const GATEWAY_KEY = 'k-edge-gateway-0451';
const APPROVER_KEY = 'k-approver-fred-77';
/** An SDK agent's key on edge-a (the edge answers the SDK's REST API through the control plane). */
const AGENT_KEY = 'k-agent-billing-edge-31';

const CONTROL_PLANE = `
store: {path: ${JSON.stringify(join(dir, 'cp.db'))}}
api_keys:
  - {name: edge, role: gateway, sha256: "${keyDigest(GATEWAY_KEY)}"}
  - {name: fred, role: approver, groups: [finance-manager], sha256: "${keyDigest(APPROVER_KEY)}"}
decision_log: {enabled: false}
default_decision: deny
cache: {ttl_ms: 60000}
agents:
  - {id: billing-agent, type: supervised, capabilities: [payments]}
policies:
  - {id: pol_admin_deny, priority: 100, conditions: {action_type: admin.access}, action: deny}
  - {id: pol_refund_large, priority: 80, conditions: {action_type: payments.refund, parameters.amount: {gt: 1000}},
     action: require_approval, approvers: [finance-manager]}
  - {id: pol_refund_small, priority: 50, conditions: {action_type: payments.refund, agent.type: supervised}, action: allow}
  - {id: pol_orders_read, priority: 10, conditions: {action_type: orders.read}, action: allow}
`;

/** An edge: routes and identity here, decisions on the control plane. */
function edgeConfig(name: string, url: string, extra: { failMode?: 'open' | 'closed'; evaluator?: Record<string, unknown>; yaml?: string } = {}): string {
  const evaluator = {
    mode: 'remote', url, api_key: { env: 'EDGE_KEY' }, timeout_ms: 2000, stale_if_error_ms: 0, breaker: { failures: 3, open_ms: 300 }, ...extra.evaluator,
  };
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `
fail_mode: ${extra.failMode ?? 'closed'}
decision_log: {enabled: false}
evaluator: ${JSON.stringify(evaluator)}
identity: {sources: [{header: x-agent-id}]}
routes:
  - match: {methods: [POST], path: "/v1/refunds/{refund_id}"}
    action_type: payments.refund
    resource: "refund/{refund_id}"
    parameters: {amount: "{query.amount}"}
  - match: {methods: [GET], path: "/v1/orders/**"}
    action_type: orders.read
    resource: "{path}"
  - match: {path: "/admin/**"}
    action_type: admin.access
    resource: "{path}"
${extra.yaml ?? ''}
`);
  return path;
}

/** A TCP relay to the control plane that can refuse (reset) or blackhole (accept, never answer). */
class Relay {
  mode: 'forward' | 'refuse' | 'blackhole' = 'forward';
  private readonly server: Server;
  private readonly open = new Set<Socket>();
  port = 0;

  constructor(private readonly target: number) {
    this.server = createServer((client) => {
      this.open.add(client);
      client.on('close', () => this.open.delete(client));
      client.on('error', () => undefined);
      if (this.mode === 'refuse') return void client.resetAndDestroy();
      if (this.mode === 'blackhole') return; // accepted, read, never answered
      const upstream = connect(this.target, '127.0.0.1');
      this.open.add(upstream);
      upstream.on('close', () => { this.open.delete(upstream); client.destroy(); });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Switches mode and drops every connection (kept-alive ones would otherwise carry on). */
  set(mode: Relay['mode']): void {
    this.mode = mode;
    for (const s of this.open) s.destroy();
  }

  close(): Promise<void> {
    this.set('refuse');
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Decisions the control plane took for submitted actions: its upstream calls. */
const cpDecisions = () => apiDecisions(cp.httpPort);

/** A forward-auth call to an edge (the way Traefik asks). */
async function forwardAuth(edge: Sidecar, method: string, uri: string, agent?: string): Promise<{ status: number; headers: Headers; body: any; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${edge.httpPort}/forward-auth`, {
    headers: { 'x-forwarded-method': method, 'x-forwarded-host': 'api.example.com', 'x-forwarded-uri': uri, 'x-forwarded-proto': 'https', ...(agent ? { 'x-agent-id': agent } : {}) },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text), ms: performance.now() - t0 };
}

let cp: Sidecar;
const edges: Sidecar[] = [];
const relays: Relay[] = [];
const env = { EDGE_KEY: GATEWAY_KEY };

async function edge(name: string, url: string, extra?: Parameters<typeof edgeConfig>[2]): Promise<Sidecar> {
  const e = await spawnSidecar(edgeConfig(name, url, extra), [], env, { readyTimeoutMs: 90_000 });
  edges.push(e);
  return e;
}

async function relay(): Promise<Relay> {
  const r = await new Relay(cp.httpPort).start();
  relays.push(r);
  return r;
}

beforeAll(async () => {
  const path = join(dir, 'cp.yaml');
  writeFileSync(path, CONTROL_PLANE);
  cp = await spawnSidecar(path, [], {}, { readyTimeoutMs: 90_000 });
}, 120_000);

afterAll(async () => {
  await Promise.all(edges.map((e) => e.stop()));
  await Promise.all(relays.map((r) => r.close()));
  await cp?.stop();
});

describe('an edge deciding through the control plane', () => {
  let e: Sidecar;
  let grpc: AuthzClient;
  beforeAll(async () => {
    e = await edge('edge-a', `http://127.0.0.1:${cp.httpPort}`, {
      yaml: `api_keys: [{name: billing, role: agent, agent_id: billing-agent, sha256: "${keyDigest(AGENT_KEY)}"}]`,
    });
    grpc = new AuthzClient(e.grpcPort, { ownConnection: true });
  }, 120_000);
  afterAll(() => grpc.close());

  it('answers with the control plane\'s decision on every gateway, and caches it', async () => {
    const before = await cpDecisions();
    const allowed = await grpc.check({ method: 'GET', path: '/v1/orders/o-1', headers: { 'x-agent-id': 'crawler' } });
    expect(allowed.status.code ?? 0).toBe(0);
    expect(header(allowed, 'x-ascend-policy-id')).toBe('pol_orders_read');
    const denied = await forwardAuth(e, 'GET', '/admin/users', 'crawler');
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ decision: 'denied', policy_id: 'pol_admin_deny', code: 'policy_deny' });
    expect(await cpDecisions()).toBe(before + 2);
    // Both again: from the edge's cache (max-age from the control plane), no upstream call.
    expect(header(await grpc.check({ method: 'GET', path: '/v1/orders/o-1', headers: { 'x-agent-id': 'crawler' } }), 'x-ascend-decision')).toBe('allowed');
    expect((await forwardAuth(e, 'GET', '/admin/users', 'crawler')).status).toBe(403);
    expect(await cpDecisions()).toBe(before + 2);
    const m = await metricsOf(e.httpPort);
    expect(sample(m, 'ascend_remote_requests_total', { outcome: 'ok' })).toBe(2);
  });

  it('makes exactly one upstream call for 1,000 concurrent identical misses (counted on the control plane)', async () => {
    const before = await cpDecisions();
    const calls: Promise<CheckResponse>[] = [];
    for (let i = 0; i < 1000; i++) calls.push(grpc.check({ method: 'GET', path: '/v1/orders/burst', headers: { 'x-agent-id': 'burst-agent' } }));
    const answers = await Promise.all(calls);
    expect(answers.every((a) => header(a, 'x-ascend-decision') === 'allowed')).toBe(true);
    expect(await cpDecisions()).toBe(before + 1);
    const m = await metricsOf(e.httpPort);
    // The misses that arrived while the call was in flight joined it; the rest hit the cache.
    expect(metricValue(m, 'ascend_remote_coalesced_total')).toBeGreaterThan(0);
  });

  it('carries a pending answer\'s approval on the control plane; once approved there, the retry is allowed', async () => {
    const first = await forwardAuth(e, 'POST', '/v1/refunds/r-9?amount=5000', 'billing-agent');
    expect(first.status).toBe(403);
    expect(first.body).toMatchObject({ decision: 'pending', code: 'approval_required' });
    const approvalId = first.body.approval_id as string;
    expect(approvalId).toMatch(/.+/);
    expect(first.headers.get('x-ascend-status-url')).toBe(`http://127.0.0.1:${cp.httpPort}/api/sdk/approval/${encodeURIComponent(approvalId)}`);
    expect(first.headers.get('retry-after')).toBe('30');
    // Not cached: the retry asks again and finds the same approval waiting.
    const again = await forwardAuth(e, 'POST', '/v1/refunds/r-9?amount=5000', 'billing-agent');
    expect([again.body.decision, again.body.approval_id]).toEqual(['pending', approvalId]);
    // The status URL works with the edge's gateway key (it may read any agent's approvals).
    const status = await fetch(first.headers.get('x-ascend-status-url')!, { headers: { 'x-api-key': GATEWAY_KEY } });
    expect(((await status.json()) as { status: string }).status).toBe('pending');
    // The gateway key may not approve.
    const forbidden = await fetch(`http://127.0.0.1:${cp.httpPort}/api/approvals/${approvalId}/approve`, { method: 'POST', headers: { 'x-api-key': GATEWAY_KEY } });
    expect(forbidden.status).toBe(403);
    const vote = await fetch(`http://127.0.0.1:${cp.httpPort}/api/approvals/${approvalId}/approve`, { method: 'POST', headers: { 'x-api-key': APPROVER_KEY } });
    expect(vote.status).toBe(200);
    const retry = await forwardAuth(e, 'POST', '/v1/refunds/r-9?amount=5000', 'billing-agent');
    expect(retry.status).toBe(200);
    expect(retry.headers.get('x-ascend-decision')).toBe('allowed');
    expect(retry.headers.get('x-ascend-approval-id')).toBe(approvalId);
  });

  it("answers an SDK submission with the control plane's approval fields: expires_at, then approved_by", async () => {
    const submit = async () => {
      const res = await fetch(`http://127.0.0.1:${e.httpPort}/api/v1/actions/submit`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': AGENT_KEY },
        body: JSON.stringify({ agent_id: 'billing-agent', action_type: 'payments.refund', resource: 'refund/r-sdk', action_details: { amount: 7000 } }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const first = await submit();
    expect([first.status, first.body.decision]).toEqual([200, 'pending']);
    const approvalId = first.body.approval_request_id as string;
    // The deadline the control plane set on its approval (check_approval's view of it there).
    const onCp = await fetch(`http://127.0.0.1:${cp.httpPort}/api/sdk/approval/${encodeURIComponent(approvalId)}`, { headers: { 'x-api-key': GATEWAY_KEY } });
    const cpView = (await onCp.json()) as Record<string, any>;
    expect(cpView.deadline_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(first.body.expires_at).toBe(cpView.deadline_at);
    expect(first.body.status_url).toBe(`http://127.0.0.1:${cp.httpPort}/api/sdk/approval/${encodeURIComponent(approvalId)}`);
    const vote = await fetch(`http://127.0.0.1:${cp.httpPort}/api/approvals/${approvalId}/approve`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': APPROVER_KEY }, body: JSON.stringify({ comment: 'checked the invoice' }),
    });
    expect(vote.status).toBe(200);
    const retry = await submit();
    expect(retry.body).toMatchObject({ decision: 'allowed', approval_request_id: approvalId, approved_by: 'fred', comments: 'checked the invoice' });
    expect(retry.body.approved_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('shows the control plane as available on /readyz', async () => {
    const r = await fetch(`http://127.0.0.1:${e.httpPort}/readyz`);
    expect([r.status, ((await r.json()) as { control_plane: string }).control_plane]).toEqual([200, 'available']);
  });
});

describe('a control plane that cannot answer', () => {
  let blackhole: Relay;
  let closedPort: number;
  beforeAll(async () => {
    blackhole = await relay();
    blackhole.set('blackhole');
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    closedPort = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
  });

  for (const target of ['blackholed', 'closed port'] as const) {
    it(`${target}, fail_mode closed: a CheckResponse denial (503, control_plane_unavailable, retry-after) inside the gRPC deadline`, async () => {
      const url = target === 'blackholed' ? `http://127.0.0.1:${blackhole.port}` : `http://127.0.0.1:${closedPort}`;
      const e = await edge(`closed-${target.replace(' ', '-')}`, url);
      const grpc = new AuthzClient(e.grpcPort, { ownConnection: true });
      try {
        await grpc.healthCheck(); // connected before the clock starts
        const t0 = Date.now();
        const res = await grpc.check({ method: 'GET', path: '/v1/orders/o-2', headers: { 'x-agent-id': 'crawler' } }, { deadline: t0 + 2000 });
        expect(Date.now() - t0).toBeLessThan(2000);
        expect(res.status.code).toBe(7); // PERMISSION_DENIED: a denial, not a gRPC error
        expect(res.denied_response?.status?.code).toBe('ServiceUnavailable');
        expect(JSON.parse(res.denied_response?.body ?? '{}')).toMatchObject({ decision: 'denied', code: 'control_plane_unavailable' });
        expect(Number(header(res, 'retry-after'))).toBeGreaterThanOrEqual(1);
        // Forward-auth never answers a denial with a 5xx (nginx and Envoy read that as an error): 403.
        const http = await forwardAuth(e, 'GET', '/v1/orders/o-3', 'crawler');
        expect([http.status, http.body.code]).toEqual([403, 'control_plane_unavailable']);
        expect(Number(http.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        const ready = await fetch(`http://127.0.0.1:${e.httpPort}/readyz`);
        expect([ready.status, ((await ready.json()) as { control_plane: string }).control_plane]).toEqual([200, 'unavailable']);
        const m = await metricsOf(e.httpPort);
        expect(sample(m, 'ascend_remote_requests_total', { outcome: target === 'blackholed' ? 'timeout' : 'error' })).toBeGreaterThanOrEqual(1);
      } finally {
        grpc.close();
      }
    });

    it(`${target}, fail_mode open: allowed and marked x-ascend-fail-open, counted`, async () => {
      const url = target === 'blackholed' ? `http://127.0.0.1:${blackhole.port}` : `http://127.0.0.1:${closedPort}`;
      const e = await edge(`open-${target.replace(' ', '-')}`, url, { failMode: 'open', evaluator: { timeout_ms: 150 } });
      const r = await forwardAuth(e, 'GET', '/admin/users', 'crawler');
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ascend-fail-open')).toBe('true');
      expect(r.ms).toBeLessThan(2000);
      const m = await metricsOf(e.httpPort);
      expect(sample(m, 'ascend_fail_open_total', { adapter: 'forward_auth' })).toBe(1);
    });
  }

  it('opens the breaker after consecutive failures, and closes it once the control plane is back', async () => {
    const r = await relay();
    const e = await edge('breaker', `http://127.0.0.1:${r.port}`);
    expect((await forwardAuth(e, 'GET', '/v1/orders/b-0', 'crawler')).status).toBe(200);
    r.set('refuse');
    for (let i = 1; i <= 3; i++) expect((await forwardAuth(e, 'GET', `/v1/orders/b-${i}`, 'crawler')).body?.code).toBe('control_plane_unavailable');
    let m = await metricsOf(e.httpPort);
    expect(metricValue(m, 'ascend_remote_circuit_state')).toBe(2);
    // Open: answered without a call.
    const made = sample(m, 'ascend_remote_requests_total', { outcome: 'error' });
    expect((await forwardAuth(e, 'GET', '/v1/orders/b-4', 'crawler')).body?.code).toBe('control_plane_unavailable');
    m = await metricsOf(e.httpPort);
    expect(sample(m, 'ascend_remote_requests_total', { outcome: 'error' })).toBe(made);
    expect(sample(m, 'ascend_remote_requests_total', { outcome: 'circuit_open' })).toBeGreaterThanOrEqual(1);
    r.set('forward');
    await waitFor(async () => (await forwardAuth(e, 'GET', '/v1/orders/b-5', 'crawler')).status === 200, { everyMs: 100, what: 'a probe to get through' });
    m = await metricsOf(e.httpPort);
    expect(metricValue(m, 'ascend_remote_circuit_state')).toBe(0);
    await e.waitForLine((l) => l.msg === 'control plane circuit breaker closed: the control plane answers again');
  });

  it('serves an expired answer, marked stale, while the control plane is away (stale_if_error_ms)', async () => {
    const r = await relay();
    const e = await edge('stale', `http://127.0.0.1:${r.port}`, { evaluator: { stale_if_error_ms: 60000 } });
    // The control plane's max-age is 60 s; the edge keeps it at most its own cache.ttl_ms (5 s default)...
    expect((await forwardAuth(e, 'GET', '/v1/orders/s-1', 'crawler')).headers.get('x-ascend-stale')).toBeNull();
    r.set('refuse');
    const fresh = await forwardAuth(e, 'GET', '/v1/orders/s-1', 'crawler');
    expect([fresh.status, fresh.headers.get('x-ascend-stale')]).toEqual([200, null]);
    // ...after which the same request is served stale while the control plane cannot answer.
    await waitFor(async () => (await forwardAuth(e, 'GET', '/v1/orders/s-1', 'crawler')).headers.get('x-ascend-stale') === 'true', { timeoutMs: 15_000, everyMs: 250, what: 'a stale answer' });
    const m = await metricsOf(e.httpPort);
    expect(metricValue(m, 'ascend_remote_stale_served_total')).toBeGreaterThanOrEqual(1);
  });
});

describe('config', () => {
  it('refuses mode remote without a url or a key, naming the field', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'evaluator: {mode: remote}\n');
    await expect(spawnSidecar(path, [], {}, { readyTimeoutMs: 15_000 })).rejects.toThrow(/evaluator\.url[\s\S]*evaluator\.api_key|evaluator\.api_key[\s\S]*evaluator\.url/);
  });
});
