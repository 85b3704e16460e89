/**
 * Request facts across the edge → control plane hop (evaluator/request-facts.ts), real
 * processes: a control plane whose policies read `request.method` and `request.headers.*`, and
 * an edge evaluating through it. The edge forwards exactly the facts the control plane names
 * (so unread headers such as x-request-id leave its cache alone), learns a new one after the
 * control plane's reload (409 request_facts_required, asked again), and an agent key cannot
 * forge facts: only a gateway key's are believed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyDigest } from './helpers/api.js';
import { AuthzClient, header } from './helpers/grpc-client.js';
import { sample } from './helpers/http.js';
import { apiDecisions, metricsOf } from './helpers/metrics.js';
import { spawnSidecar, type Sidecar } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

vi.setConfig({ testTimeout: 90_000 });

const dir = tempDir('ascend-cp-facts-');
const GATEWAY_KEY = 'k-edge-facts-gateway-5';
const AGENT_KEY = 'k-agent-crawler-facts-6';
const cpPath = join(dir, 'cp.yaml');

function writeControlPlane(extraPolicy = ''): void {
  writeFileSync(cpPath, `
api_keys:
  - {name: edge, role: gateway, sha256: "${keyDigest(GATEWAY_KEY)}"}
  - {name: crawler, role: agent, agent_id: crawler, sha256: "${keyDigest(AGENT_KEY)}"}
decision_log: {enabled: false}
cache: {ttl_ms: 60000}
default_decision: deny
policies:
${extraPolicy}  - {id: pol_tenant_blocked, priority: 100, conditions: {action_type: orders.access, request.headers.X-Tenant: blocked-corp}, action: deny}
  - {id: pol_no_delete, priority: 90, conditions: {action_type: orders.access, request.method: DELETE}, action: deny}
  - {id: pol_orders, priority: 10, conditions: {action_type: orders.access}, action: allow}
  - {id: pol_internal_admin, priority: 10, conditions: {action_type: admin.access, request.headers.x-internal: "yes"}, action: allow}
`);
}

let cp: Sidecar;
let edge: Sidecar;

const cpDecisions = () => apiDecisions(cp.httpPort);

async function forwardAuth(method: string, uri: string, headers: Record<string, string> = {}): Promise<{ status: number; decision: string | null; policy: string | null }> {
  const res = await fetch(`http://127.0.0.1:${edge.httpPort}/forward-auth`, {
    headers: { 'x-forwarded-method': method, 'x-forwarded-host': 'api.example.com', 'x-forwarded-uri': uri, 'x-forwarded-proto': 'https', 'x-agent-id': 'crawler', ...headers },
  });
  await res.arrayBuffer();
  return { status: res.status, decision: res.headers.get('x-ascend-decision'), policy: res.headers.get('x-ascend-policy-id') };
}

async function submit(key: string, body: Record<string, unknown>): Promise<{ status: number; facts: string | null; body: Record<string, any> }> {
  const res = await fetch(`http://127.0.0.1:${cp.httpPort}/api/v1/actions/submit`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
  return { status: res.status, facts: res.headers.get('x-ascend-request-facts'), body: (await res.json()) as Record<string, any> };
}

beforeAll(async () => {
  writeControlPlane();
  cp = await spawnSidecar(cpPath, ['--no-watch'], {}, { readyTimeoutMs: 90_000 });
  const edgePath = join(dir, 'edge.yaml');
  writeFileSync(edgePath, `
fail_mode: closed
decision_log: {enabled: false}
cache: {ttl_ms: 60000}
evaluator: {mode: remote, url: "http://127.0.0.1:${cp.httpPort}", api_key: {env: EDGE_KEY}, timeout_ms: 2000}
identity: {sources: [{header: x-agent-id}]}
routes:
  - {match: {path: "/v1/orders/**"}, action_type: orders.access, resource: "{path}"}
  - {match: {path: "/admin/**"}, action_type: admin.access, resource: "{path}"}
`);
  edge = await spawnSidecar(edgePath, [], { EDGE_KEY: GATEWAY_KEY }, { readyTimeoutMs: 90_000 });
}, 150_000);

afterAll(async () => {
  await Promise.all([edge?.stop(), cp?.stop()]);
});

describe('request facts forwarded by an edge', () => {
  it("a control plane policy on a header and on the method decides the edge's requests differently", async () => {
    expect(await forwardAuth('GET', '/v1/orders/o-1', { 'x-tenant': 'acme' })).toMatchObject({ decision: 'allowed', policy: 'pol_orders' });
    expect(await forwardAuth('GET', '/v1/orders/o-1', { 'x-tenant': 'blocked-corp' })).toMatchObject({ status: 403, decision: 'denied', policy: 'pol_tenant_blocked' });
    expect(await forwardAuth('DELETE', '/v1/orders/o-1', { 'x-tenant': 'acme' })).toMatchObject({ status: 403, policy: 'pol_no_delete' });
    // Over gRPC (Envoy) too: the same facts, from a CheckRequest.
    const grpc = new AuthzClient(edge.grpcPort, { ownConnection: true });
    try {
      const r = await grpc.check({ method: 'GET', path: '/v1/orders/o-9', headers: { 'x-agent-id': 'crawler', 'x-tenant': 'blocked-corp' } });
      expect([r.status.code, header(r, 'x-ascend-policy-id')]).toEqual([7, 'pol_tenant_blocked']);
    } finally {
      grpc.close();
    }
    await edge.waitForLine((l) => l.msg === 'the control plane reads these request facts: forwarding them');
  });

  it('forwards only the facts the control plane reads: an unread header (x-request-id) leaves the cache alone', async () => {
    expect((await forwardAuth('GET', '/v1/orders/o-2', { 'x-tenant': 'acme', 'x-request-id': 'r-0' })).decision).toBe('allowed');
    const before = await cpDecisions();
    for (let i = 1; i <= 5; i++) expect((await forwardAuth('GET', '/v1/orders/o-2', { 'x-tenant': 'acme', 'x-request-id': `r-${i}` })).decision).toBe('allowed');
    expect(await cpDecisions()).toBe(before);
  });

  it("learns a fact the control plane reads after its reload (409 request_facts_required, asked again)", async () => {
    writeControlPlane('  - {id: pol_region_eu, priority: 95, conditions: {action_type: orders.access, request.headers.x-region: eu}, action: deny}\n');
    cp.proc.kill('SIGHUP');
    await cp.waitForLine((l) => l.msg === 'config reloaded');
    // Two different misses at once: both are refused 409, one learns the fact, the other finds it
    // learned — each is asked again, neither answered per fail_mode.
    const [eu, us] = await Promise.all([
      forwardAuth('GET', '/v1/orders/o-3', { 'x-tenant': 'acme', 'x-region': 'eu' }),
      forwardAuth('GET', '/v1/orders/o-3', { 'x-tenant': 'acme', 'x-region': 'us' }),
    ]);
    expect(eu).toMatchObject({ decision: 'denied', policy: 'pol_region_eu' });
    expect(us).toMatchObject({ decision: 'allowed', policy: 'pol_orders' });
    await waitFor(() => edge.lines.some((l) => Array.isArray(l.request_facts) && (l.request_facts as string[]).includes('headers.x-region')), { what: 'the edge to learn x-region' });
    const m = await metricsOf(edge.httpPort);
    expect(sample(m, 'ascend_remote_requests_total', { outcome: 'status_4xx' })).toBe(0);
  });

  it('through a chain (edge → edge → control plane): facts reach the control plane, never claimed when not sent', async () => {
    const mk = (name: string, url: string, keys: string) => {
      const p = join(dir, `${name}.yaml`);
      writeFileSync(p, `
fail_mode: closed
decision_log: {enabled: false}
cache: {ttl_ms: 60000}
${keys}
evaluator: {mode: remote, url: "${url}", api_key: {env: EDGE_KEY}, timeout_ms: 2000, stale_if_error_ms: 0}
identity: {sources: [{header: x-agent-id}]}
routes:
  - {match: {path: "/v1/orders/**"}, action_type: orders.access, resource: "{path}"}
`);
      return p;
    };
    const middle = await spawnSidecar(mk('middle', `http://127.0.0.1:${cp.httpPort}`, `api_keys: [{name: edge, role: gateway, sha256: "${keyDigest(GATEWAY_KEY)}"}]`), [], { EDGE_KEY: GATEWAY_KEY }, { readyTimeoutMs: 90_000 });
    const first = await spawnSidecar(mk('first', `http://127.0.0.1:${middle.httpPort}`, ''), [], { EDGE_KEY: GATEWAY_KEY }, { readyTimeoutMs: 90_000 });
    try {
      const ask = async (tenant: string) => {
        const res = await fetch(`http://127.0.0.1:${first.httpPort}/forward-auth`, {
          headers: { 'x-forwarded-method': 'GET', 'x-forwarded-host': 'api.example.com', 'x-forwarded-uri': `/v1/orders/chain-${tenant}`, 'x-forwarded-proto': 'https', 'x-agent-id': 'crawler', 'x-tenant': tenant },
        });
        await res.arrayBuffer();
        return { decision: res.headers.get('x-ascend-decision'), policy: res.headers.get('x-ascend-policy-id') };
      };
      // The first answer may be the middle's fail_mode (it learns what the control plane reads
      // from a request that did not carry it); never an allow the control plane would not give.
      expect((await ask('blocked-corp')).decision).toBe('denied');
      await waitFor(async () => (await ask('blocked-corp')).policy === 'pol_tenant_blocked', { everyMs: 100, what: 'the chain to carry x-tenant' });
      expect(await ask('acme')).toEqual({ decision: 'allowed', policy: 'pol_orders' });
    } finally {
      await Promise.all([first.stop(), middle.stop()]);
    }
  });

  it('believes facts only from a gateway key: an agent key cannot forge them', async () => {
    const action = { agent_id: 'crawler', action_type: 'admin.access', resource: '/admin/x', context: { ascend_request: { facts: ['headers.x-internal', 'headers.x-region', 'headers.x-tenant', 'method'], method: 'GET', headers: { 'x-internal': 'yes' } } } };
    const forged = await submit(AGENT_KEY, action);
    expect([forged.status, forged.body.decision, forged.facts]).toEqual([200, 'denied', null]);
    const edgeKey = await submit(GATEWAY_KEY, action);
    expect([edgeKey.status, edgeKey.body.decision, edgeKey.body.policy_id]).toEqual([200, 'allowed', 'pol_internal_admin']);
    expect(edgeKey.facts).toBe('headers.x-internal,headers.x-region,headers.x-tenant,method');
    // A gateway key that forwards fewer facts than the policies read is refused, not decided without them.
    const short = await submit(GATEWAY_KEY, { ...action, context: { ascend_request: { facts: ['method'], method: 'GET' } } });
    expect([short.status, short.body.error?.code]).toEqual([409, 'request_facts_required']);
    expect(short.facts).toBe('headers.x-internal,headers.x-region,headers.x-tenant,method');
    // Without ascend_request (an SDK client holding a gateway key): no request facts, as for any submission.
    expect((await submit(GATEWAY_KEY, { agent_id: 'crawler', action_type: 'admin.access', resource: '/admin/x' })).body.decision).toBe('denied');
  });
});
