/**
 * The same request gives the same decision through every entry point: Envoy ext_authz gRPC,
 * the Kong plugin endpoint, the Kong OPA endpoint and forward-auth (nginx, Traefik and Envoy
 * http_service styles). Core contract config, decision cache off so each entry point's
 * translation is evaluated on its own.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthzClient, header } from './helpers/grpc-client.js';
import { startApp, type TestApp } from './helpers/app.js';
import { postJson, rawRequest, type RawResponse } from './helpers/http.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const NO_CACHE = CORE.replace(/^cache: .*$/m, 'cache: {enabled: false}');
const HOST = 'api.example.com';

interface Case {
  method: string;
  /** Raw request target, as the client sent it. */
  target: string;
  agent?: string;
  expect: 'allowed' | 'denied' | 'pending';
}

const CASES: Record<string, Case> = {
  'orders read by crawler': { method: 'GET', target: '/v1/orders/o-1', agent: 'crawler', expect: 'allowed' },
  'orders read, nested, with query': { method: 'GET', target: '/v1/orders/2024/o-42/items?expand=lines', agent: 'billing-agent', expect: 'allowed' },
  'orders read, anonymous': { method: 'GET', target: '/v1/orders/o-1', expect: 'allowed' },
  'small refund': { method: 'POST', target: '/v1/refunds/r-1?amount=500', agent: 'billing-agent', expect: 'allowed' },
  'refund at the threshold': { method: 'POST', target: '/v1/refunds/r-2?amount=1000', agent: 'billing-agent', expect: 'allowed' },
  'large refund': { method: 'POST', target: '/v1/refunds/r-3?amount=1500&currency=EUR', agent: 'billing-agent', expect: 'pending' },
  // The amount is read by the route ({query.amount}): every spelling that two upstream
  // parsers could read differently is refused (ambiguous_parameter, invalid_number).
  'refund amount given twice (ambiguous)': { method: 'POST', target: '/v1/refunds/r-4?amount=500&amount=2000', agent: 'billing-agent', expect: 'denied' },
  'refund amount key in upper case (read as amount)': { method: 'POST', target: '/v1/refunds/r-4?AMOUNT=2000', agent: 'billing-agent', expect: 'pending' },
  'refund amount twice, folded case (ambiguous)': { method: 'POST', target: '/v1/refunds/r-4?amount=5&Amount=2000', agent: 'billing-agent', expect: 'denied' },
  'refund amount as amount[] (ambiguous)': { method: 'POST', target: '/v1/refunds/r-4?amount%5B%5D=2000', agent: 'billing-agent', expect: 'denied' },
  'refund amount after a semicolon (ambiguous)': { method: 'POST', target: '/v1/refunds/r-4?x=1;amount=2000', agent: 'billing-agent', expect: 'denied' },
  'refund amount 2,000 (invalid number)': { method: 'POST', target: '/v1/refunds/r-4?amount=2%2C000', agent: 'billing-agent', expect: 'denied' },
  'refund amount in full-width digits (invalid number)': { method: 'POST', target: '/v1/refunds/r-4?amount=%EF%BC%92%EF%BC%90%EF%BC%90%EF%BC%90', agent: 'billing-agent', expect: 'denied' },
  'refund by autonomous crawler': { method: 'POST', target: '/v1/refunds/r-5?amount=50', agent: 'crawler', expect: 'denied' },
  'refund by unregistered agent': { method: 'POST', target: '/v1/refunds/r-6?amount=50', agent: 'ghost', expect: 'denied' },
  'refund with GET': { method: 'GET', target: '/v1/refunds/r-1?amount=10', agent: 'billing-agent', expect: 'denied' },
  'orders write': { method: 'POST', target: '/v1/orders/o-1', agent: 'billing-agent', expect: 'denied' },
  'admin read': { method: 'GET', target: '/admin/users', agent: 'billing-agent', expect: 'denied' },
  'admin delete': { method: 'DELETE', target: '/admin/agents/crawler', agent: 'crawler', expect: 'denied' },
  'dot segments': { method: 'GET', target: '/v1/orders/../../admin/x', agent: 'crawler', expect: 'denied' },
  'encoded dot segments': { method: 'GET', target: '/v1/orders/%2e%2e/%2E%2E/admin/x', agent: 'crawler', expect: 'denied' },
  'encoded letter': { method: 'GET', target: '/%61dmin/x', agent: 'billing-agent', expect: 'denied' },
  'double slash': { method: 'GET', target: '//admin/x', agent: 'billing-agent', expect: 'denied' },
  'encoded slash (400)': { method: 'GET', target: '/v1/orders/a%2Fb', agent: 'crawler', expect: 'denied' },
  'agent id that is not an identifier (400)': { method: 'GET', target: '/v1/orders/o-1', agent: 'bad agent', expect: 'denied' },
  'unknown route': { method: 'GET', target: '/v2/payments', agent: 'billing-agent', expect: 'denied' },
};

interface Outcome {
  decision: string | undefined;
  policy_id: string | null;
  risk_score: number;
}

const headersOf = (c: Case): Record<string, string> => ({ accept: 'application/json', ...(c.agent ? { 'x-agent-id': c.agent } : {}) });

function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** kong.request.get_query(): decoded, a list for a repeated key, true for a bare key. */
function kongQuery(query: string): Record<string, string | true | (string | true)[]> {
  const out: Record<string, string | true | (string | true)[]> = {};
  for (const pair of query.split('&').filter(Boolean)) {
    const eq = pair.indexOf('=');
    const k = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
    const v: string | true = eq === -1 ? true : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function fromHeaders(h: Record<string, unknown>): Outcome {
  return {
    decision: h['x-ascend-decision'] as string | undefined,
    policy_id: (h['x-ascend-policy-id'] as string | undefined) ?? null,
    risk_score: Number(h['x-ascend-risk-score']),
  };
}

const fromRaw = (r: RawResponse): Outcome => fromHeaders(r.headers);

describe('gateway parity: gRPC, Kong, Kong OPA and forward-auth decide alike', () => {
  let t: TestApp;
  let grpc: AuthzClient;
  beforeAll(async () => {
    t = await startApp(NO_CACHE);
    grpc = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    grpc.close();
    await t.close();
  });

  const entryPoints: Record<string, (c: Case) => Promise<Outcome>> = {
    async grpc(c) {
      const res = await grpc.check({ method: c.method, path: c.target, host: HOST, scheme: 'https', headers: headersOf(c) });
      const h = (name: string) => header(res, name);
      return fromHeaders({ 'x-ascend-decision': h('x-ascend-decision'), 'x-ascend-policy-id': h('x-ascend-policy-id'), 'x-ascend-risk-score': h('x-ascend-risk-score') });
    },
    async kong(c) {
      const { path, query } = splitTarget(c.target);
      const res = await postJson(t.url('/kong/v1/authorize'), {
        request: { method: c.method, scheme: 'https', host: HOST, port: 443, path, raw_query: query, headers: { host: HOST, ...headersOf(c) } },
        client_ip: '10.0.0.7',
        agent_id_from: 'username',
      });
      expect(res.status).toBe(200);
      return fromHeaders(res.json.allow ? res.json.upstream_headers : res.json.client_headers);
    },
    async kong_opa(c) {
      const { path, query } = splitTarget(c.target);
      const res = await postJson(t.url('/v1/data/ascend/allow'), {
        input: {
          request: { http: { method: c.method, scheme: 'https', host: HOST, port: 443, path, querystring: kongQuery(query), headers: { host: HOST, ...headersOf(c) }, tls: {} } },
          client_ip: '10.0.0.7',
        },
      });
      expect(res.status).toBe(200);
      return fromHeaders(res.json.result.headers);
    },
    async forward_auth_nginx(c) {
      return fromRaw(await rawRequest(t.httpPort, {
        path: '/forward-auth',
        headers: { ...headersOf(c), 'x-original-uri': c.target, 'x-original-method': c.method, 'x-original-host': HOST, 'x-original-proto': 'https' },
      }));
    },
    async forward_auth_traefik(c) {
      return fromRaw(await rawRequest(t.httpPort, {
        path: '/forward-auth',
        headers: { ...headersOf(c), 'x-forwarded-uri': c.target, 'x-forwarded-method': c.method, 'x-forwarded-host': HOST, 'x-forwarded-proto': 'https', 'x-forwarded-for': '10.0.0.7' },
      }));
    },
    async forward_auth_envoy(c) {
      return fromRaw(await rawRequest(t.httpPort, {
        method: c.method,
        path: `/forward-auth${c.target}`,
        headers: { ...headersOf(c), host: HOST, 'x-forwarded-proto': 'https' },
      }));
    },
  };

  it('has at least 15 requests covering every decision', () => {
    expect(Object.keys(CASES).length).toBeGreaterThanOrEqual(15);
    expect(new Set(Object.values(CASES).map((c) => c.expect))).toEqual(new Set(['allowed', 'denied', 'pending']));
  });

  it.each(Object.entries(CASES))('%s', async (_name, c) => {
    const outcomes: Record<string, Outcome> = {};
    for (const [name, ask] of Object.entries(entryPoints)) outcomes[name] = await ask(c);
    const reference = outcomes.grpc!;
    expect(reference.decision).toBe(c.expect);
    expect(Number.isFinite(reference.risk_score)).toBe(true);
    for (const [name, o] of Object.entries(outcomes)) expect({ entry: name, ...o }).toEqual({ entry: name, ...reference });
  });

  it('every entry point was counted under its own adapter label', async () => {
    const metrics = await (await fetch(t.url('/metrics'))).text();
    for (const adapter of ['envoy', 'kong', 'kong_opa', 'forward_auth']) {
      expect(metrics).toMatch(new RegExp(`ascend_authz_decisions_total\\{adapter="${adapter}",decision="denied"\\} [1-9]`));
    }
  });
});
