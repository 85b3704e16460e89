/**
 * The forward-auth endpoint as nginx (auth_request), Traefik (ForwardAuth) and Envoy
 * (http_service) call it, over real HTTP from 127.0.0.1 (trusted by default), and from a
 * peer that is not a trusted proxy (trusted_proxies set to a range without 127.0.0.1).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { rawHttp, rawRequest, sample, type RawResponse } from './helpers/http.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');

const nginx = (uri: string, method = 'GET', extra: Record<string, string> = {}) => ({
  path: '/forward-auth',
  headers: { 'x-original-uri': uri, 'x-original-method': method, 'x-original-host': 'api.example.com', 'x-original-proto': 'https', 'x-real-ip': '203.0.113.9', ...extra },
});
const traefik = (uri: string, method = 'GET', extra: Record<string, string> = {}) => ({
  path: '/forward-auth',
  headers: { 'x-forwarded-method': method, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com', 'x-forwarded-uri': uri, 'x-forwarded-for': '203.0.113.9', ...extra },
});
const envoy = (uri: string, method = 'GET', extra: Record<string, string> = {}) => ({
  method,
  path: `/forward-auth${uri}`,
  headers: { host: 'api.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9', ...extra },
});

function expectAllowed(res: RawResponse): void {
  expect(res.status, res.body).toBe(200);
  expect(res.headers['x-ascend-decision']).toBe('allowed');
  expect(res.headers['x-ascend-action-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.body).toBe('');
}

function expectDenied(res: RawResponse, status: number, decision = 'denied'): any {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['x-ascend-decision']).toBe(decision);
  const body = JSON.parse(res.body);
  expect(body.decision).toBe(decision);
  expect(body.action_id).toBe(res.headers['x-ascend-action-id']);
  return body;
}

describe('forward-auth (quickstart config, trusted loopback peer)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(CORE);
  });
  afterAll(() => t.close());
  const call = (r: { method?: string; path: string; headers?: Record<string, string>; body?: string }) => rawRequest(t.httpPort, r);
  const logOf = (res: RawResponse) => t.decisions().find((l) => l.action_id === res.headers['x-ascend-action-id'])!;

  describe.each([
    ['nginx', nginx],
    ['traefik', traefik],
    ['envoy', envoy],
  ] as const)('%s style', (_style, as) => {
    it('allowed → 200 with x-ascend-* headers', async () => {
      const res = await call(as('/v1/orders/o-1', 'GET', { 'x-agent-id': 'crawler' }));
      expectAllowed(res);
      expect(res.headers['x-ascend-policy-id']).toBe('pol_orders_read');
      expect(logOf(res)).toMatchObject({ adapter: 'forward_auth', method: 'GET', path: '/v1/orders/o-1', agent_id: 'crawler' });
    });

    it('the original method and query count: a small refund', async () => {
      const res = await call(as('/v1/refunds/r-1?amount=500', 'POST', { 'x-agent-id': 'billing-agent' }));
      expectAllowed(res);
      expect(logOf(res)).toMatchObject({ action_type: 'payments.refund', policy_id: 'pol_refund_small' });
    });

    it('denied → 403 with the JSON body', async () => {
      const body = expectDenied(await call(as('/admin/users', 'DELETE', { 'x-agent-id': 'crawler' })), 403);
      expect(body).toMatchObject({ policy_id: 'pol_admin_deny', code: 'policy_deny' });
    });

    it('pending → the pending status (403) with the approval id', async () => {
      const res = await call(as('/v1/refunds/r-1?amount=1500', 'POST', { 'x-agent-id': 'billing-agent' }));
      const body = expectDenied(res, 403, 'pending');
      expect(res.headers['x-ascend-approval-id']).toBe(body.approval_id);
      expect(res.headers['retry-after']).toBe('30');
    });

    it('dot segments in the original path are resolved before matching', async () => {
      expectDenied(await call(as('/v1/orders/../../admin/x', 'GET', { 'x-agent-id': 'crawler' })), 403);
    });
  });

  it('nginx: without X-Original-Method the auth request method is used', async () => {
    const res = await call({ path: '/forward-auth', headers: { 'x-original-uri': '/v1/orders/o-1', 'x-agent-id': 'crawler' } });
    expectAllowed(res);
  });

  it('envoy: any method reaches the endpoint, with a body of any content type', async () => {
    for (const method of ['PUT', 'PATCH', 'OPTIONS', 'DELETE']) {
      const res = await call({ ...envoy('/v1/orders/o-1', method), headers: { host: 'api.example.com', 'content-type': 'application/octet-stream' }, body: 'binary\u0000data' });
      expectDenied(res, 403);
      expect(logOf(res)).toMatchObject({ method, path: '/v1/orders/o-1' });
    }
  });

  it('envoy: the original path "/" is /forward-auth/', async () => {
    const res = await call(envoy('/'));
    expectDenied(res, 403);
    expect(logOf(res)).toMatchObject({ path: '/', resource: 'api.example.com/' });
  });

  it('client-sent x-ascend-* never decide, and Envoy is told to strip the ones we do not set', async () => {
    const res = await call(envoy('/v1/orders/o-1', 'GET', { 'x-ascend-decision': 'denied', 'x-ascend-approval-id': 'apr_fake', 'x-agent-id': 'crawler' }));
    expectAllowed(res);
    expect(res.headers['x-envoy-auth-headers-to-remove']).toBe('x-ascend-approval-id');
    const denied = await call(nginx('/admin/x', 'GET', { 'x-ascend-decision': 'allowed' }));
    expectDenied(denied, 403);
    expect(denied.headers['x-envoy-auth-headers-to-remove']).toBeUndefined();
  });

  describe('no usable original request → 400 denial', () => {
    it.each([
      ['bare path, no headers', { path: '/forward-auth', headers: {} }, /no original request/],
      ['bare path with a query', { path: '/forward-auth?x=1', headers: {} }, /no original request/],
      ['both nginx and Traefik headers', { path: '/forward-auth', headers: { 'x-original-uri': '/v1/orders/1', 'x-forwarded-uri': '/admin/x' } }, /both X-Original-URI and X-Forwarded-Uri/],
      ['an encoded spelling of the prefix', { path: '/forward%2Dauth/v1/orders/1', headers: {} }, /does not start with \/forward-auth/],
      ['an original URI that is not a path', { path: '/forward-auth', headers: { 'x-original-uri': 'http://evil/admin' } }, /path must start with/],
      ['an encoded slash', { path: '/forward-auth', headers: { 'x-original-uri': '/v1/orders/a%2Fb' } }, /encoded slash/],
    ])('%s', async (_name, req, reason) => {
      const res = await call(req);
      expect(res.status).toBe(400);
      const body = JSON.parse(res.body);
      expect(body).toMatchObject({ decision: 'denied' });
      expect(body.reason).toMatch(reason);
      expect(res.headers['x-ascend-decision']).toBe('denied');
    });
  });

  // Two header lines of one name on the wire (one from the gateway, one the client passed
  // through), written on a raw socket: what the listener makes of them must be refused.
  it.each([
    ['X-Original-URI', ['X-Original-URI: /v1/orders/1', 'X-Original-URI: /admin/x'], /x-original-uri is sent more than once/],
    ['X-Forwarded-Method', ['X-Forwarded-Uri: /v1/orders/1', 'X-Forwarded-Method: GET', 'X-Forwarded-Method: DELETE'], /x-forwarded-method is sent more than once/],
  ])('%s sent twice on the wire → 400 denial', async (_name, lines, reason) => {
    const res = await rawHttp(t.httpPort, ['GET /forward-auth HTTP/1.1', 'Host: sidecar', 'X-Agent-Id: crawler', ...lines, 'Connection: close', '', ''].join('\r\n'));
    expect(res.status, res.text).toBe(400);
    const [head, body] = res.text.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/\r\nx-ascend-decision: denied\r\n/i);
    expect(JSON.parse(body)).toMatchObject({ decision: 'denied', reason: expect.stringMatching(reason) });
  });

  it('a listed X-Forwarded-Proto or Host from a proxy chain is not taken for a repeated header', async () => {
    const res = await call(traefik('/v1/orders/o-1', 'GET', { 'x-agent-id': 'crawler', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'api.example.com, edge.example.com' }));
    // Judged as before this check existed (a listed Host is not a host, and is refused as such).
    expect(res.body).not.toMatch(/more than once/);
  });

  it('counts every answer under adapter="forward_auth"', async () => {
    const metrics = await (await fetch(t.url('/metrics'))).text();
    expect(sample(metrics, 'ascend_authz_decisions_total', { adapter: 'forward_auth', decision: 'allowed' })).toBeGreaterThanOrEqual(6);
    expect(sample(metrics, 'ascend_authz_decisions_total', { adapter: 'forward_auth', decision: 'pending' })).toBe(3);
    expect(sample(metrics, 'ascend_authz_errors_total', { adapter: 'forward_auth', reason: 'invalid_request' })).toBeGreaterThanOrEqual(4);
  });
});

const SOURCE_POLICY = `
identity: {sources: [{header: x-agent-id}]}
forward_auth: {trusted_proxies: ["10.0.0.0/8"]}
responses: {denied_status: 503, pending_status: 429}
routes:
  - {match: {path: "/v1/**"}, action_type: api.call}
policies:
  - {id: pol_from_partner, priority: 20, action: allow,
     conditions: {action_type: api.call, request.source_ip: 203.0.113.9, request.scheme: https}}
  - {id: pol_needs_approval, priority: 10, action: require_approval, approvers: [ops],
     conditions: {resource: "*/v1/approve/**"}}
`;

describe('forward-auth from a peer that is not a trusted proxy', () => {
  let t: TestApp;
  let trusted: TestApp;
  beforeAll(async () => {
    t = await startApp(SOURCE_POLICY);
    trusted = await startApp(SOURCE_POLICY.replace('["10.0.0.0/8"]', '["10.0.0.0/8", "127.0.0.1"]'));
  });
  afterAll(async () => {
    await t.close();
    await trusted.close();
  });

  it('trusted: X-Forwarded-For and X-Forwarded-Proto reach the policy', async () => {
    const res = await rawRequest(trusted.httpPort, traefik('/v1/x'));
    expectAllowed(res);
    expect(res.headers['x-ascend-policy-id']).toBe('pol_from_partner');
    expectAllowed(await rawRequest(trusted.httpPort, envoy('/v1/x')));
  });

  it('the rightmost untrusted X-Forwarded-For hop is the client', async () => {
    expectAllowed(await rawRequest(trusted.httpPort, traefik('/v1/x', 'GET', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.1.2.3' })));
    expectDenied(await rawRequest(trusted.httpPort, traefik('/v1/x', 'GET', { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' })), 403);
  });

  it('trusted: RFC 7239 Forwarded supplies the client, proto and host when X-Forwarded-* are absent', async () => {
    const req = {
      method: 'GET',
      path: '/forward-auth/v1/x',
      headers: { host: 'api.example.com', forwarded: 'for=198.51.100.1;proto=http, for="203.0.113.9:4711";proto=https;host=api.example.com' },
    };
    const res = await rawRequest(trusted.httpPort, req);
    expectAllowed(res);
    expect(res.headers['x-ascend-policy-id']).toBe('pol_from_partner');
    // Without the header the request is neither https nor from the partner.
    expectDenied(await rawRequest(trusted.httpPort, { ...req, headers: { host: 'api.example.com' } }), 403);
    // From an untrusted peer the same header is ignored.
    expectDenied(await rawRequest(t.httpPort, req), 403);
  });

  it('untrusted: X-Forwarded-* are ignored, the request is judged as it is', async () => {
    // Claims https from 203.0.113.9 for /admin; judged as http from 127.0.0.1 for /v1/x.
    const res = await rawRequest(t.httpPort, envoy('/v1/x', 'GET', { 'x-forwarded-uri': '/admin', 'x-original-uri': '/admin' }));
    const body = expectDenied(res, 403);
    expect(body.code).toBe('default_deny');
    expect(t.decisions().find((l) => l.action_id === body.action_id)).toMatchObject({ path: '/v1/x', resource: 'api.example.com/v1/x' });
  });

  it('untrusted: nginx/Traefik-style calls (no path after the prefix) are refused with 400', async () => {
    for (const req of [nginx('/v1/x'), traefik('/v1/x')]) {
      const res = await rawRequest(t.httpPort, req);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).reason).toMatch(/trusted_proxies, and peer (::ffff:)?127\.0\.0\.1 is not one/);
    }
  });

  it.each([
    ['/forward-auth/'], ['/forward-auth/?x=1'], ['/forward-auth//'], ['/forward-auth/./'], ['/forward-auth/%2e/'],
  ])('untrusted: %s (an address with a trailing slash) is refused with 400, never judged as GET /', async (path) => {
    // nginx's and Traefik's headers, from a proxy missing from trusted_proxies: ignored, and the
    // path after the prefix names no request.
    for (const headers of [nginx('/v1/x').headers, traefik('/v1/x').headers, { host: 'api.example.com' }]) {
      const res = await rawRequest(t.httpPort, { path, headers });
      const body = expectDenied(res, 400);
      expect(body.reason).toMatch(/trusted_proxies, and peer (::ffff:)?127\.0\.0\.1 is not one, and the path names nothing after \/forward-auth/);
      expect(t.decisions().find((l) => l.action_id === body.action_id)?.path).toBeUndefined();
    }
  });

  it('untrusted: a path after the prefix is judged as it is (method, path, Host, http, the peer)', async () => {
    const res = await rawRequest(t.httpPort, envoy('/v1/x?y=1', 'DELETE', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' }));
    const body = expectDenied(res, 403);
    expect(t.decisions().find((l) => l.action_id === body.action_id)).toMatchObject({ method: 'DELETE', path: '/v1/x', resource: 'api.example.com/v1/x' });
  });

  it('trusted: Envoy asking about / (path_prefix + "/") is still judged as GET /', async () => {
    const res = await rawRequest(trusted.httpPort, { path: '/forward-auth/', headers: { host: 'api.example.com' } });
    const body = expectDenied(res, 403);
    expect(body.code).toBe('default_deny');
    expect(trusted.decisions().find((l) => l.action_id === body.action_id)).toMatchObject({ method: 'GET', path: '/' });
  });

  it('a configured 5xx denial status is answered 403 (a 5xx is an error to nginx and Envoy)', async () => {
    expectDenied(await rawRequest(t.httpPort, envoy('/v2/nothing')), 403);
  });

  it('a configured pending status is used as is', async () => {
    expectDenied(await rawRequest(t.httpPort, envoy('/v1/approve/1', 'GET', { 'x-agent-id': 'billing-agent' })), 429, 'pending');
  });

  it('trusted_proxies reloads with the config', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(t.configPath, SOURCE_POLICY.replace('["10.0.0.0/8"]', '["127.0.0.0/8"]'));
    expect((await t.app.reload('test')).result).toBe('success');
    expectAllowed(await rawRequest(t.httpPort, traefik('/v1/x')));
  });
});

describe('forward-auth config', () => {
  it('a bad trusted_proxies entry is a config error naming the field', async () => {
    await expect(startApp(`${CORE}\nforward_auth: {trusted_proxies: ["10.0.0.0/8", "not-an-ip"]}\n`)).rejects.toThrow(/forward_auth\.trusted_proxies\[1\]: "not-an-ip" is not an IP address/);
  });

  it('a custom path, and nothing under the default one', async () => {
    const t = await startApp(`${CORE}\nforward_auth: {path: /authz/check}\n`);
    try {
      expectAllowed(await rawRequest(t.httpPort, { path: '/authz/check/v1/orders/1', headers: { host: 'a' } }));
      expectAllowed(await rawRequest(t.httpPort, { path: '/authz/check', headers: { 'x-original-uri': '/v1/orders/1' } }));
      expect((await rawRequest(t.httpPort, { path: '/forward-auth/v1/orders/1' })).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
