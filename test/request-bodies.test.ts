/**
 * Request bodies from every gateway (issue 18 item 1): Envoy `body` and `raw_body` through a
 * real gRPC client, the Kong plugin and Kong opa endpoints and forward-auth over real HTTP.
 * `body.<path>` in templates and conditions, JSON and form data, the size and depth limits,
 * a partial body never taken as complete, `on_invalid` per route, and the decision log that
 * shows a body only when `decision_log.include_body` is set, with secret members redacted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { withAppAndClient } from './helpers/app-client.js';
import { AuthzClient, checkRequest, decisionOf, header, type CheckResponse } from './helpers/grpc-client.js';
import { postJson, rawRequest } from './helpers/http.js';

const CONFIG = (includeBody: boolean) => `
identity: {sources: [{header: x-agent-id}]}
cache: {ttl_ms: 60000}
limits: {max_body_bytes: 2048, max_json_depth: 8}
routes:
  - match: {methods: [POST], path: /v1/payments}
    action_type: payments.create
    resource: "payment/{body.currency}"
    parameters: {amount: "{body.amount}"}
  - match: {methods: [POST], path: /v1/notes}
    action_type: notes.create
    resource: notes
    body: {on_invalid: ignore}
policies:
  - {id: pol_big, priority: 50, conditions: {action_type: payments.create, parameters.amount: {gt: 1000}}, action: deny}
  - {id: pol_eur, priority: 40, conditions: {body.currency: EUR}, action: deny, reason: no euro payments}
  - {id: pol_secret_notes, priority: 30, conditions: {action_type: notes.create, body.tags.0: secret}, action: deny}
  - {id: pol_rest, priority: 1, conditions: {agent_id: {exists: true}}, action: allow}
decision_log: {include_body: ${includeBody}, redact: {body_keys: [card]}}
`;

const AGENT = { 'x-agent-id': 'pay-bot' };
const JSON_TYPE = { 'content-type': 'application/json' };

function deniedBody(res: CheckResponse): { code: string; policy_id: string | null } {
  return JSON.parse(res.denied_response?.body ?? '{}');
}

describe('request bodies', () => {
  let t: TestApp;
  let client: AuthzClient;
  beforeAll(async () => {
    t = await startApp(CONFIG(true));
    client = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });

  const envoy = (body: string, headers: Record<string, string> = JSON_TYPE, path = '/v1/payments') =>
    client.check({ method: 'POST', path, headers: { ...AGENT, ...headers }, body });

  it('Envoy body: body.<path> in templates and conditions', async () => {
    expect(decisionOf(await envoy('{"amount": 20, "currency": "USD"}'))).toBe('allowed');
    const big = await envoy('{"amount": 5000, "currency": "USD"}');
    expect(decisionOf(big)).toBe('denied');
    expect(deniedBody(big).policy_id).toBe('pol_big');
    // Same action type and parameters, only the body differs: never the cached allow.
    const eur = await envoy('{"amount": 20, "currency": "EUR"}');
    expect(deniedBody(eur)).toMatchObject({ policy_id: 'pol_eur', code: 'policy_deny' });
    const line = t.decisions().at(-1)!;
    expect(line.resource).toBe('payment/EUR');
  });

  it('Envoy raw_body (bytes) is read like body', async () => {
    const req = checkRequest({ method: 'POST', path: '/v1/payments', headers: { ...AGENT, ...JSON_TYPE } }) as any;
    req.attributes.request.http.raw_body = Buffer.from('{"amount": 9000, "currency": "USD"}');
    const res = await client.checkRaw(req);
    expect(deniedBody(res).policy_id).toBe('pol_big');
  });

  it('a partial body (x-envoy-auth-partial-body: true) is never complete: denied body_truncated', async () => {
    const res = await envoy('{"amount": 20, "currency": "USD"', { ...JSON_TYPE, 'x-envoy-auth-partial-body': 'true' });
    expect(decisionOf(res)).toBe('denied');
    expect(deniedBody(res).code).toBe('body_truncated');
    expect(res.denied_response?.status?.code).toBe('BadRequest');
    // The header says false: the body is complete.
    const full = await envoy('{"amount": 21, "currency": "USD"}', { ...JSON_TYPE, 'x-envoy-auth-partial-body': 'false' });
    expect(decisionOf(full)).toBe('allowed');
  });

  it('form data is parsed; other types, bad JSON, too large or too deep are invalid_body on a deny route', async () => {
    const form = await envoy('amount=5000&currency=USD', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(deniedBody(form).policy_id).toBe('pol_big');
    for (const [body, type] of [
      ['{"amount": 20,', 'application/json'],
      ['amount=20', 'text/plain'],
      [JSON.stringify({ currency: 'USD', pad: 'x'.repeat(3000) }), 'application/json'],
      [`${'['.repeat(20)}${']'.repeat(20)}`, 'application/json'],
    ] as const) {
      const res = await envoy(body, { 'content-type': type });
      expect(deniedBody(res).code, `${type} ${body.slice(0, 20)}`).toBe('invalid_body');
    }
  });

  it('on_invalid: ignore evaluates as if there were no body', async () => {
    expect(decisionOf(await envoy('{"tags": ["secret"]}', JSON_TYPE, '/v1/notes'))).toBe('denied');
    expect(decisionOf(await envoy('{"tags": ["sec', JSON_TYPE, '/v1/notes'))).toBe('allowed');
    expect(decisionOf(await envoy('{"tags": ["public"]}', JSON_TYPE, '/v1/notes'))).toBe('allowed');
  });

  it('Kong plugin: body, and body_truncated denies body_truncated', async () => {
    const ask = (body: string | undefined, truncated: boolean) => postJson(t.url('/kong/v1/authorize'), {
      request: { method: 'POST', scheme: 'http', host: 'api.example.com', port: 8000, path: '/v1/payments', headers: { ...AGENT, ...JSON_TYPE }, body, body_truncated: truncated },
      client_ip: '10.0.0.7',
    });
    const ok = await ask('{"amount": 30, "currency": "USD"}', false);
    expect(ok.json.decision).toBe('allowed');
    const eur = await ask('{"amount": 30, "currency": "EUR"}', false);
    expect(eur.json).toMatchObject({ allow: false, decision: 'denied' });
    expect(JSON.parse(eur.json.body).policy_id).toBe('pol_eur');
    const cut = await ask('{"amount": 30, "currency": "US', true);
    expect(JSON.parse(cut.json.body).code).toBe('body_truncated');
    // nginx buffered the body to a file: no body, marked truncated.
    const none = await ask(undefined, true);
    expect(JSON.parse(none.json.body).code).toBe('body_truncated');
  });

  it('Kong opa: body and parsed_body', async () => {
    const ask = (http: Record<string, unknown>) => postJson(t.url('/v1/data/ascend/allow'), {
      input: { request: { http: { method: 'POST', scheme: 'http', host: 'api.example.com', path: '/v1/payments', headers: AGENT, ...http } } },
    });
    const raw = await ask({ body: 'amount=4000&currency=USD', headers: { ...AGENT, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(raw.json.result).toMatchObject({ allow: false, message: { policy_id: 'pol_big' } });
    // parsed_body: Kong already parsed it (here a form), so it is JSON whatever the content type.
    const parsed = await ask({ parsed_body: { amount: '40', currency: 'EUR' }, headers: { ...AGENT, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(parsed.json.result).toMatchObject({ allow: false, message: { policy_id: 'pol_eur' } });
    const fine = await ask({ parsed_body: { amount: 40, currency: 'USD' } });
    expect(fine.json.result.allow).toBe(true);
  });

  it('forward-auth: the original request body', async () => {
    const ask = (body: string) => rawRequest(t.httpPort, { method: 'POST', path: '/forward-auth/v1/payments', headers: { ...AGENT, ...JSON_TYPE }, body });
    expect((await ask('{"amount": 50, "currency": "USD"}')).status).toBe(200);
    const eur = await ask('{"amount": 50, "currency": "EUR"}');
    expect(eur.status).toBe(403);
    expect(JSON.parse(eur.body).policy_id).toBe('pol_eur');
    const bad = await ask('{"amount": 50,');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).code).toBe('invalid_body');
  });

  it('decision_log.include_body: the body, with secret members redacted', async () => {
    await envoy('{"amount": 60, "currency": "USD", "card": "4111111111111111", "account": {"password": "hunter2", "id": 7}}');
    const line = t.decisions().at(-1)!;
    expect(line.body).toEqual({ amount: 60, currency: 'USD', card: "[REDACTED]", account: { password: "[REDACTED]", id: 7 } });
    await envoy('amount=5', { 'content-type': 'text/plain' });
    expect(t.decisions().at(-1)).toMatchObject({ body_bytes: 8 });
    expect(t.decisions().at(-1)!.body).toBeUndefined();
    expect(header(await envoy('{"amount": 61, "currency": "USD"', { ...JSON_TYPE, 'x-envoy-auth-partial-body': 'true' }), 'x-ascend-decision')).toBe('denied');
    expect(t.decisions().at(-1)).toMatchObject({ body_partial: true, code: 'body_truncated' });
  });
});

describe('request bodies without include_body', () => {
  it('never reach the decision log', async () => {
    await withAppAndClient(CONFIG(false), async (t, client) => {
      const res = await client.check({ method: 'POST', path: '/v1/payments', headers: { ...AGENT, ...JSON_TYPE }, body: '{"amount": 70, "currency": "USD", "memo": "do-not-log-me"}' });
      expect(decisionOf(res)).toBe('allowed');
      expect(t.decisions()).toHaveLength(1);
      expect(JSON.stringify(t.logs)).not.toContain('do-not-log-me');
      expect(t.decisions()[0]!.body).toBeUndefined();
    });
  });
});
