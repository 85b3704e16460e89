/**
 * `gateway_access`: only gateways call the gateway endpoints. Every HTTP gateway endpoint —
 * Kong authorize and complete, Kong opa, forward-auth (bare and with a path) — refuses a TCP
 * peer outside `allowed_peers` with 403 and a caller without the configured token with 401,
 * before anything is evaluated: no decision-log line, no approval, no completion. The REST
 * API, /healthz, /readyz and /metrics are not behind it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeFromText } from '../src/config/runtime.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { callGateway, expectedOutcome, GATEWAY_CALLS, type GatewayCall } from './helpers/gateway-calls.js';
import { rawRequest, sample } from './helpers/http.js';
import { getOver, openSocket } from './helpers/sockets.js';
import { tempDir } from './helpers/tmp.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const TOKEN = 'gw-token-3f9a1c77e2';

async function metricsText(t: TestApp): Promise<string> {
  return (await rawRequest(t.httpPort, { path: '/metrics' })).body;
}

async function pendingApprovals(t: TestApp): Promise<number> {
  const r = await call(t.url(''), 'GET', '/api/approvals?status=pending', KEYS.admin);
  expect(r.status).toBe(200);
  return (r.body.items ?? r.body.approvals ?? r.body).length as number;
}

/** Nothing was evaluated or recorded: no decision line, no completion line, no approval. */
async function expectUntouched(t: TestApp): Promise<void> {
  expect(t.decisions()).toEqual([]);
  expect(t.logs.filter((l) => l.kind === 'completion')).toEqual([]);
  expect(await pendingApprovals(t)).toBe(0);
}

async function start(access: string, opts: { host?: string } = {}): Promise<TestApp> {
  const dir = tempDir('ascend-gwaccess-');
  return startApp(storeConfig(dir, CORE, `gateway_access: ${access}`), { dir, ...opts });
}

describe('a peer outside gateway_access.allowed_peers', () => {
  let t: TestApp;
  beforeAll(async () => { t = await start('{allowed_peers: [10.0.0.0/8]}'); });
  afterAll(() => t.close());

  it.each(GATEWAY_CALLS.map((c) => [c.name, c] as const))('%s: 403 peer_not_allowed, not evaluated', async (_name, c: GatewayCall) => {
    const r = await callGateway(t.httpPort, c);
    expect(r.status).toBe(403);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(r.body)).toEqual({ code: 'peer_not_allowed', reason: 'peer 127.0.0.1 is not in gateway_access.allowed_peers' });
    expect(r.headers['x-ascend-decision']).toBeUndefined();
    await expectUntouched(t);
  });

  it('forwarding headers naming an allowed address change nothing: the TCP peer counts', async () => {
    const spoof = { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3', forwarded: 'for=10.1.2.3' };
    for (const c of GATEWAY_CALLS) expect((await callGateway(t.httpPort, c, { headers: spoof })).status, c.name).toBe(403);
    await expectUntouched(t);
  });

  it('counts every refusal by adapter and reason, and no decision', async () => {
    const m = await metricsText(t);
    // Each call above was made twice (alone, then with forwarding headers).
    expect(sample(m, 'ascend_gateway_access_denied_total', { adapter: 'kong', reason: 'peer_not_allowed' })).toBe(4);
    expect(sample(m, 'ascend_gateway_access_denied_total', { adapter: 'kong_opa', reason: 'peer_not_allowed' })).toBe(2);
    expect(sample(m, 'ascend_gateway_access_denied_total', { adapter: 'forward_auth', reason: 'peer_not_allowed' })).toBe(4);
    expect(sample(m, 'ascend_gateway_access_denied_total', { adapter: 'kong', reason: 'gateway_token_required' })).toBe(0);
    for (const adapter of ['kong', 'kong_opa', 'forward_auth']) {
      expect(sample(m, 'ascend_authz_decisions_total', { adapter, decision: 'pending' }), adapter).toBe(0);
    }
  });

  it('the REST API, /healthz and /readyz are not behind gateway_access', async () => {
    for (const path of ['/healthz', '/readyz']) expect((await rawRequest(t.httpPort, { path })).status, path).toBe(200);
    const r = await call(t.url(''), 'POST', '/api/authorization/agent-action', KEYS.billing, {
      agent_id: 'billing-agent', action_type: 'payments.refund', resource: 'refund/r-api', parameters: { amount: 50 },
    });
    expect(r.status).toBe(200);
    expect(r.body.decision ?? r.body.status).toMatch(/allow|approved/);
    expect(t.decisions().length).toBe(1);
  });
});

describe('the peer is the TCP peer, IPv4-mapped IPv6 included', () => {
  it('a client bound to 127.0.0.2 is refused when only 127.0.0.1/32 is allowed; 127.0.0.1 is decided', async () => {
    const t = await start('{allowed_peers: [127.0.0.1/32]}');
    try {
      for (const c of GATEWAY_CALLS) {
        const r = await callGateway(t.httpPort, c, { localAddress: '127.0.0.2' });
        expect([r.status, JSON.parse(r.body).code], c.name).toEqual([403, 'peer_not_allowed']);
      }
      await expectUntouched(t);
      for (const c of GATEWAY_CALLS) expect(c.outcome(await callGateway(t.httpPort, c)), c.name).toBe(expectedOutcome(c));
    } finally {
      await t.close();
    }
  });

  it('on a dual-stack listener (::), IPv4 loopback peers (::ffff:127.0.0.x) match the default 127.0.0.0/8 and ::1 matches ::1/128', async () => {
    const t = await start('{}', { host: '::' });
    try {
      for (const c of GATEWAY_CALLS) {
        expect(c.outcome(await callGateway(t.httpPort, c)), `${c.name} from 127.0.0.1`).toBe(expectedOutcome(c));
        expect(c.outcome(await callGateway(t.httpPort, c, { host: '::1' })), `${c.name} from ::1`).toBe(expectedOutcome(c));
      }
    } finally {
      await t.close();
    }
  });

  it('on a dual-stack listener, a mapped peer outside the list is refused', async () => {
    const t = await start('{allowed_peers: ["127.0.0.1/32", "::1/128"]}', { host: '::' });
    try {
      const r = await callGateway(t.httpPort, GATEWAY_CALLS[0]!, { localAddress: '127.0.0.2' });
      expect(JSON.parse(r.body)).toEqual({ code: 'peer_not_allowed', reason: 'peer ::ffff:127.0.0.2 is not in gateway_access.allowed_peers' });
      expect(GATEWAY_CALLS[0]!.outcome(await callGateway(t.httpPort, GATEWAY_CALLS[0]!))).toBe('pending');
    } finally {
      await t.close();
    }
  });
});

describe('gateway_access.token', () => {
  let t: TestApp;
  beforeAll(async () => { t = await start(`{token: ${TOKEN}}`); });
  afterAll(() => t.close());

  const wrong = [
    ['no token', {}],
    ['a wrong token', { 'x-ascend-gateway-token': 'gw-token-3f9a1c77e3' }],
    ['a prefix of the token', { 'x-ascend-gateway-token': TOKEN.slice(0, -1) }],
    ['the token with more after it', { 'x-ascend-gateway-token': `${TOKEN}x` }],
    ['an empty token', { 'x-ascend-gateway-token': '' }],
  ] as const;

  it.each(wrong)('%s: 401 gateway_token_required from every endpoint, not evaluated', async (_what, headers) => {
    for (const c of GATEWAY_CALLS) {
      const r = await callGateway(t.httpPort, c, { headers });
      expect(r.status, c.name).toBe(401);
      expect(JSON.parse(r.body), c.name).toEqual({ code: 'gateway_token_required', reason: 'missing or wrong x-ascend-gateway-token' });
    }
    await expectUntouched(t);
  });

  it('the token sent twice is refused', async () => {
    const r = await rawRequest(t.httpPort, { path: '/forward-auth', headers: { 'x-ascend-gateway-token': [TOKEN, TOKEN], 'x-original-uri': '/v1/orders/1' } });
    expect(r.status).toBe(401);
    await expectUntouched(t);
  });

  it('with the right token every endpoint decides (the completion is taken)', async () => {
    for (const c of GATEWAY_CALLS) {
      const r = await callGateway(t.httpPort, c, { headers: { 'x-ascend-gateway-token': TOKEN } });
      expect(c.outcome(r), `${c.name}: ${r.status} ${r.body}`).toBe(expectedOutcome(c));
    }
    expect(t.decisions().length).toBe(GATEWAY_CALLS.filter((c) => c.decides).length);
    expect(await pendingApprovals(t)).toBe(GATEWAY_CALLS.filter((c) => c.decides).length);
    const m = await metricsText(t);
    expect(sample(m, 'ascend_gateway_access_denied_total', { adapter: 'kong', reason: 'gateway_token_required' })).toBe(2 * (wrong.length));
  });
});

describe('the token from {env} and {file}', () => {
  it('{env: NAME} reads the variable', async () => {
    process.env.ASCEND_TEST_GATEWAY_TOKEN = TOKEN;
    const t = await start('{token: {env: ASCEND_TEST_GATEWAY_TOKEN}}');
    try {
      const c = GATEWAY_CALLS[0]!;
      expect((await callGateway(t.httpPort, c)).status).toBe(401);
      expect(c.outcome(await callGateway(t.httpPort, c, { headers: { 'x-ascend-gateway-token': TOKEN } }))).toBe('pending');
    } finally {
      delete process.env.ASCEND_TEST_GATEWAY_TOKEN;
      await t.close();
    }
  });

  it('{file: PATH} is read at load and re-read on reload (a trailing newline is not part of it)', async () => {
    const dir = tempDir('ascend-gwtoken-');
    const file = join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const t = await start(`{token: {file: ${JSON.stringify(file)}}}`);
    try {
      const c = GATEWAY_CALLS[3]!;
      expect(c.outcome(await callGateway(t.httpPort, c, { headers: { 'x-ascend-gateway-token': TOKEN } }))).toBe('pending');
      writeFileSync(file, 'rotated-token-0001');
      expect((await t.app.reload('test', true)).result).toBe('success');
      expect((await callGateway(t.httpPort, c, { headers: { 'x-ascend-gateway-token': TOKEN } })).status).toBe(401);
      expect(c.outcome(await callGateway(t.httpPort, c, { headers: { 'x-ascend-gateway-token': 'rotated-token-0001' } }))).toBe('pending');
    } finally {
      await t.close();
    }
  });
});

describe('a reload applies to connections already open', () => {
  it('a keep-alive connection let in before a reload that drops its peer is refused after it', async () => {
    const t = await start('{}');
    const h = await openSocket(t.httpPort);
    try {
      // Envoy http_service style: the path after the prefix is the request (orders are readable by anyone).
      expect((await getOver(h, '/forward-auth/v1/orders/1')).status).toBe(200);
      writeFileSync(t.configPath, readFileSync(t.configPath, 'utf8').replace('gateway_access: {}', 'gateway_access: {allowed_peers: [10.0.0.0/8]}'));
      expect((await t.app.reload('test', true)).result).toBe('success');
      const after = await getOver(h, '/forward-auth/v1/orders/1');
      expect([after.status, JSON.parse(after.body).code]).toEqual([403, 'peer_not_allowed']);
    } finally {
      h.socket.destroy();
      await t.close();
    }
  });
});

describe('gateway_access config errors name the field', () => {
  const load = (access: string) => () => runtimeFromText(`gateway_access: ${access}\n${CORE}`, '/etc/ascend/config.yaml', 1);

  it.each([
    ['{token: {env: ASCEND_TEST_NO_SUCH_VARIABLE}}', /gateway_access\.token\.env: environment variable ASCEND_TEST_NO_SUCH_VARIABLE is not set/],
    ['{token: {file: /nonexistent/ascend-token}}', /gateway_access\.token\.file: cannot read \/nonexistent\/ascend-token: file not found/],
    ['{token: {file: token.txt}}', /gateway_access\.token\.file: cannot read \/etc\/ascend\/token\.txt/],
    ['{token: ""}', /gateway_access\.token/],
    ['{allowed_peers: [10.0.0.0/8, "not-an-ip"]}', /gateway_access\.allowed_peers\[1\]: "not-an-ip" is not an IP address or CIDR range/],
    ['{allowed_peers: [10.0.0.0/33]}', /gateway_access\.allowed_peers\[0\]/],
    ['{allow_peers: [10.0.0.0/8]}', /gateway_access\.allow_peers: unknown field/],
  ])('%s', (access, message) => {
    expect(load(access)).toThrow(message);
  });
});
