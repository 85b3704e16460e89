/**
 * Input errors are decisions, never faults (SECURITY.md "Numbers and keys fail closed", "Input
 * errors are decisions"): every spelling of a number or a key that two upstream parsers could
 * read differently, JSON nested past limits.max_json_depth, and config names that are
 * properties of every JavaScript object. Under `fail_mode: open`, none of them may turn a deny
 * or an approval into an allow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeFromText } from '../src/config/runtime.js';
import { call, KEYS, API_KEYS_YAML } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf, type CheckResponse } from './helpers/grpc-client.js';
import { postJson } from './helpers/http.js';

const CONFIG = `
fail_mode: open
identity: {sources: [{header: x-agent-id}]}
agents: [{id: billing-agent, type: supervised}]
routes:
  - match: {methods: [POST], path: "/v1/refunds/{id}"}
    action_type: payments.refund
    resource: "refund/{id}"
    parameters: {amount: "{query.amount}"}
policies:
  - {id: pol_deep_deny, priority: 100, action: deny, conditions: {action_type: admin.wipe}}
  - {id: pol_large, priority: 80, action: require_approval, approvers: [finance-manager],
     conditions: {action_type: payments.refund, parameters.amount: {gt: 1000}}}
  - {id: pol_small, priority: 50, action: allow, conditions: {action_type: payments.refund}}
${API_KEYS_YAML}`;

/** A JSON value nested `depth` levels: {"a":{"a":...1...}}. */
const nested = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('input errors are decisions', () => {
  let t: TestApp;
  let c: AuthzClient;
  beforeAll(async () => {
    t = await startApp(CONFIG);
    c = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    c.close();
    await t.close();
  });

  const refund = (query: string) => c.check({ method: 'POST', path: `/v1/refunds/r1?${query}`, headers: { 'x-agent-id': 'billing-agent' } });
  const denial = (r: CheckResponse) => ({ decision: decisionOf(r), status: r.denied_response?.status?.code, code: (JSON.parse(r.denied_response?.body ?? '{}') as { code?: string }).code });

  it('controls: a plain small amount is allowed, a plain large one pending', async () => {
    expect(decisionOf(await refund('amount=500'))).toBe('allowed');
    expect(decisionOf(await refund('amount=5000'))).toBe('pending');
    expect(decisionOf(await refund('AMOUNT=5000'))).toBe('pending');
  });

  it.each([
    '5000x', '5_000', '5%2C000', '5000.00.1', '%EF%BC%95%EF%BC%90%EF%BC%90%EF%BC%90', '%D9%A5%D9%A0%D9%A0%D9%A0',
    '%2B5000', '%205000', '5e3', '0x1388', 'Infinity', '',
  ])('amount=%s is denied 400 invalid_number (never falls through to the allow policy)', async (spelling) => {
    expect(denial(await refund(`amount=${spelling}`))).toEqual({ decision: 'denied', status: 'BadRequest', code: 'invalid_number' });
  });

  it.each([
    'amount=5&amount=5000', 'amount=5&AMOUNT=5000', 'AMOUNT=5&amount=5000', 'amount[]=5000', 'amount%5B0%5D=5000',
    'x=1;amount=5000', 'amount=5;x=1', 'x;amount=5000',
  ])('%s is denied 400 ambiguous_parameter', async (query) => {
    expect(denial(await refund(query))).toEqual({ decision: 'denied', status: 'BadRequest', code: 'ambiguous_parameter' });
  });

  it('keys the config does not read keep every value, and are not refused', async () => {
    expect(decisionOf(await refund('amount=500&tag=a&tag=b&x[]=1;y=2'))).toBe('allowed');
  });

  it('REST: a parameter spelled past a threshold is denied invalid_number, even with fail_mode open', async () => {
    const res = await call(t.url(''), 'POST', '/api/authorization/agent-action', KEYS.billing,
      { action_type: 'payments.refund', resource: 'refund/r2', parameters: { amount: '5,000' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ decision: 'denied', code: 'invalid_number' });
  });

  it('REST: parameters nested deeper than max_json_depth are refused 400 too_deep, not failed open', async () => {
    const deep = `{"action_type":"admin.wipe","resource":"all","parameters":${nested(5000)}}`;
    const res = await call(t.url(''), 'POST', '/api/authorization/agent-action', KEYS.billing, deep);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('too_deep');
    // Just inside the limit (32, counted from the root: body → parameters → 30 more) is evaluated.
    const ok = await call(t.url(''), 'POST', '/api/authorization/agent-action', KEYS.billing,
      `{"action_type":"admin.wipe","resource":"all","parameters":${nested(31)}}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ decision: 'denied', policy_id: 'pol_deep_deny' });
    const over = await call(t.url(''), 'POST', '/api/authorization/agent-action', KEYS.billing,
      `{"action_type":"admin.wipe","resource":"all","parameters":${nested(32)}}`);
    expect(over.body.error.code).toBe('too_deep');
  });

  it('Kong-OPA: a parsed_body nested 5,000 deep is a deny result (400 too_deep), never an allow', async () => {
    const text = `{"input":{"request":{"http":{"method":"POST","host":"x","path":"/v1/refunds/r1","querystring":{"amount":"5"},"headers":{"x-agent-id":"billing-agent"},"parsed_body":${nested(5000)}}}}}`;
    const res = await postJson(t.url('/v1/data/ascend/allow'), text);
    expect(res.status).toBe(200);
    expect(res.json.result).toMatchObject({ allow: false, status: 400, message: { code: 'too_deep' } });
  });

  it('Kong plugin: a body nested too deep is refused 400 too_deep', async () => {
    const text = `{"request":{"method":"POST","host":"x","path":"/v1/refunds/r1","raw_query":"amount=5","headers":${nested(40)}}}`;
    const res = await postJson(t.url('/kong/v1/authorize'), text);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('too_deep');
  });
});

describe('config names that index maps are own keys only', () => {
  const base = `
routes: [{match: {path: "/x"}, action_type: t}]
policies:
  - {id: p, action: require_approval, workflow: NAME, conditions: {action_type: t}}
workflows:
  NAME: {steps: [{approvers: [ops]}]}
`;
  it.each(['toString', 'constructor', 'valueOf', 'hasOwnProperty', '__defineGetter__'])('a workflow named %s is a config error naming the field', (name) => {
    expect(() => runtimeFromText(base.replaceAll('NAME', name), 'c.yaml', 1)).toThrow(new RegExp(`workflows\\.${name}: "${name}" is reserved`));
  });

  it('a policy id, route name or risk table key named after an Object property is refused', () => {
    const bad = `
routes: [{name: toString, match: {path: "/x"}, action_type: t}]
policies: [{id: constructor, action: allow, conditions: {}}]
risk: {environments: {valueOf: 10}}
`;
    expect(() => runtimeFromText(bad, 'c.yaml', 1)).toThrow(/routes\[0\]\.name: "toString" is reserved[\s\S]*policies\[0\]\.id: "constructor" is reserved|policies\[0\]\.id[\s\S]*routes\[0\]\.name/);
  });

  it('a policy that names a workflow only an Object property could answer is refused', () => {
    const dangling = base.replace('workflow: NAME', 'workflow: isPrototypeOf').replace('NAME:', 'real:');
    expect(() => runtimeFromText(dangling, 'c.yaml', 1)).toThrow(/policies\[0\]\.workflow/);
  });
});
