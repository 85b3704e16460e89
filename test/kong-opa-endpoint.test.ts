/**
 * Kong Enterprise `opa` plugin compatibility: POST /v1/data/* with the input exactly as that
 * plugin builds it (kong.request.get_* values; optional parts only when the matching
 * include_*_in_opa_input option is on), answered HTTP 200 {"result": {...}} in every case.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { postJson, sample } from './helpers/http.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');

/** What the opa plugin sends with every include_* option off. */
function opaInput(http: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    input: {
      request: {
        http: {
          host: 'api.example.com',
          port: 8000,
          tls: {},
          method: 'GET',
          scheme: 'http',
          path: '/v1/orders/o-1',
          querystring: {},
          headers: { host: 'api.example.com:8000', accept: '*/*', 'user-agent': 'agent-sdk/1.4', 'x-agent-id': 'crawler' },
          ...http,
        },
      },
      client_ip: '10.0.0.7',
      ...extra,
    },
  };
}

/** Whole Kong entities, as include_{service,route,consumer}_in_opa_input send them. */
const SERVICE = { id: '0b5a2c1e-6f3d-4c1a-9e2b-5d7f8a9b0c11', name: 'payments', host: 'payments.internal', port: 8080, protocol: 'http', path: null, retries: 5, connect_timeout: 60000, created_at: 1700000000, updated_at: 1700000000, tags: null, enabled: true };
const ROUTE = { id: '1c6b3d2f-7a4e-4d2b-8f3c-6e8a9b0c1d22', name: 'refunds', paths: ['/v1/refunds'], methods: ['POST'], protocols: ['http', 'https'], strip_path: false, preserve_host: false, regex_priority: 0, hosts: null, service: { id: SERVICE.id }, created_at: 1700000000, tags: null };
const CONSUMER = { id: '4f9e6a5c-0d7b-4a5e-9c6f-9b1d2e3f4a55', username: 'billing-agent', custom_id: 'ba-1', created_at: 1700000000, updated_at: 1700000000, tags: null, type: 0 };

function expectResultShape(body: any): void {
  expect(Object.keys(body)).toEqual(['result']);
  const r = body.result;
  expect(typeof r.allow).toBe('boolean');
  expect(Number.isInteger(r.status)).toBe(true);
  for (const v of Object.values(r.headers)) expect(typeof v).toBe('string');
}

describe('Kong OPA endpoint', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(CORE);
  });
  afterAll(() => t.close());
  const ask = (body: unknown, path = '/v1/data/ascend/allow') => postJson(t.url(path), body);

  it('allow: headers for the upstream', async () => {
    const res = await ask(opaInput({}));
    expect(res.status).toBe(200);
    expectResultShape(res.json);
    expect(res.json.result).toMatchObject({ allow: true, status: 200, headers: { 'x-ascend-decision': 'allowed', 'x-ascend-policy-id': 'pol_orders_read' } });
    expect(res.json.result.headers['x-ascend-action-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('deny: the denial body as message, 403', async () => {
    const res = await ask(opaInput({ path: '/admin/users' }));
    expectResultShape(res.json);
    expect(res.json.result).toMatchObject({ allow: false, status: 403, headers: { 'x-ascend-decision': 'denied' } });
    expect(res.json.result.message).toMatchObject({ decision: 'denied', policy_id: 'pol_admin_deny', code: 'policy_deny' });
    expect(res.json.result.message.action_id).toBe(res.json.result.headers['x-ascend-action-id']);
  });

  it('pending: allow false with the pending status and approval headers', async () => {
    const res = await ask(opaInput({ method: 'POST', path: '/v1/refunds/r-1', querystring: { amount: '1500', currency: 'EUR' }, headers: { 'x-agent-id': 'billing-agent' } }));
    expectResultShape(res.json);
    const r = res.json.result;
    expect(r).toMatchObject({ allow: false, status: 403, headers: { 'x-ascend-decision': 'pending', 'retry-after': '30' } });
    expect(r.headers['x-ascend-approval-id']).toMatch(/^apr_/);
    expect(r.message).toMatchObject({ decision: 'pending', approval_id: r.headers['x-ascend-approval-id'], policy_id: 'pol_refund_large' });
  });

  it('querystring arrays and bare keys are rebuilt into the target', async () => {
    const res = await ask(opaInput({ querystring: { expand: ['lines', 'items'], flag: true, q: 'a b&c' } }));
    expect(res.json.result.allow).toBe(true);
    const line = t.decisions().find((l) => l.action_id === res.json.result.headers['x-ascend-action-id'])!;
    expect(line).toMatchObject({ adapter: 'kong_opa', path: '/v1/orders/o-1', raw_target: '/v1/orders/o-1?expand=lines&expand=items&flag&q=a%20b%26c' });
  });

  it('a repeated amount is a list: the refund is judged on every value', async () => {
    const res = await ask(opaInput({ method: 'POST', path: '/v1/refunds/r-1', querystring: { amount: ['500', '2000'] }, headers: { 'x-agent-id': 'billing-agent' } }));
    expect(res.json.result.allow).toBe(false);
  });

  it('optional fields missing (no port, scheme, tls, querystring, headers)', async () => {
    const body = { input: { request: { http: { method: 'GET', host: 'api.example.com', path: '/v1/orders/o-9' } } } };
    const res = await ask(body);
    expect(res.json.result).toMatchObject({ allow: true, status: 200 });
  });

  it('port as a string, as in Kong docs', async () => {
    const res = await ask(opaInput({ port: '8000' }));
    expect(res.json.result.allow).toBe(true);
  });

  it('with every include_* option on: body, parsed_body, uri_captures, service, route, consumer', async () => {
    const res = await ask(
      opaInput(
        {
          method: 'POST',
          path: '/v1/refunds/r-1',
          querystring: { amount: '200' },
          headers: { host: 'api.example.com', 'content-type': 'application/json' },
          body: '{"reason":"damaged"}',
          body_size: 20,
          parsed_body: { reason: 'damaged' },
          uri_captures: { named: {}, unnamed: [] },
        },
        { service: SERVICE, route: ROUTE, consumer: CONSUMER },
      ),
    );
    expect(res.json.result).toMatchObject({ allow: false, status: 403 });
    // No x-agent-id and no consumer source configured: Kong OPA consumers identify nobody.
    const line = t.decisions().find((l) => l.action_id === res.json.result.headers['x-ascend-action-id'])!;
    expect(line.agent_id).toBeNull();
  });

  it('agent_id_from (our Kong plugin\'s hint) is not honoured: the opa plugin never sends it', async () => {
    // The consumer would be billing-agent, whose small refund pol_refund_small allows.
    const refund = { method: 'POST', path: '/v1/refunds/r-1', querystring: { amount: '200' }, headers: {} };
    for (const hint of [{ agent_id_from: 'username' }, { agent_id_from: 'custom_id' }]) {
      const res = await ask(opaInput(refund, { consumer: CONSUMER, ...hint }));
      expect(res.json.result.allow).toBe(false);
      const line = t.decisions().find((l) => l.action_id === res.json.result.headers['x-ascend-action-id'])!;
      expect(line.agent_id).toBeNull();
    }
  });

  it('client-sent x-ascend-* headers are ignored', async () => {
    const res = await ask(opaInput({ path: '/admin/x', headers: { 'x-ascend-decision': 'allowed', 'x-agent-id': 'crawler' } }));
    expect(res.json.result.allow).toBe(false);
  });

  it.each(['/v1/data', '/v1/data/ascend/allow', '/v1/data/example/allowDetailed', '/v1/data/a/b/c/d'])('any policy path: %s', async (path) => {
    const res = await ask(opaInput({}), path);
    expect(res.json.result.allow).toBe(true);
  });

  it('a path Kong could not have sent is a 400 deny result', async () => {
    const res = await ask(opaInput({ path: 'v1/orders' }));
    expect(res.status).toBe(200);
    expect(res.json.result).toMatchObject({ allow: false, status: 400 });
    expect(res.json.result.message.code).toBe('invalid_path');
  });

  describe('malformed input: HTTP 200 with a deny result Kong applies', () => {
    it.each([
      ['invalid JSON', '{"input": ', 400, 'invalid_json'],
      ['empty body', '', 400, 'invalid_json'],
      ['no input', { request: {} }, 400, 'invalid_request'],
      ['no http', { input: { request: {} } }, 400, 'invalid_request'],
      ['method not a string', opaInput({ method: 7 }), 400, 'invalid_request'],
      ['querystring value an object', opaInput({ querystring: { a: { b: 1 } } }), 400, 'invalid_request'],
      ['prototype poisoning', '{"input": {"__proto__": {"x": 1}}}', 400, 'invalid_json'],
    ])('%s', async (_name, body, status, code) => {
      const res = await ask(body);
      expect(res.status).toBe(200);
      expectResultShape(res.json);
      expect(res.json.result).toMatchObject({ allow: false, status, headers: { 'x-ascend-decision': 'denied' } });
      expect(res.json.result.message.code).toBe(code);
      expect(res.json.result.message.reason).toEqual(expect.any(String));
    });

    it('counts them under adapter="kong_opa"', async () => {
      const metrics = await (await fetch(t.url('/metrics'))).text();
      expect(sample(metrics, 'ascend_authz_errors_total', { adapter: 'kong_opa', reason: 'invalid_json' })).toBeGreaterThanOrEqual(2);
      expect(sample(metrics, 'ascend_authz_decisions_total', { adapter: 'kong_opa', decision: 'allowed' })).toBeGreaterThanOrEqual(1);
    });
  });
});

describe('Kong OPA consumer as identity (configured source)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(CORE.replace('    - header: x-agent-id', '    - consumer: {field: username}\n    - header: x-agent-id'));
  });
  afterAll(() => t.close());

  it('the consumer username is the agent', async () => {
    const res = await postJson(t.url('/v1/data/ascend/allow'), opaInput({ method: 'POST', path: '/v1/refunds/r-1', querystring: { amount: '200' }, headers: {} }, { consumer: CONSUMER, route: ROUTE, service: SERVICE }));
    expect(res.json.result.allow).toBe(true);
    const line = t.decisions().find((l) => l.action_id === res.json.result.headers['x-ascend-action-id'])!;
    expect(line).toMatchObject({ agent_id: 'billing-agent', policy_id: 'pol_refund_small' });
  });
});
