/**
 * A/B tests of policies (issue 18 item 3) through the real server: Envoy checks over a real gRPC
 * client, the REST API over real HTTP. Deterministic bucketing, the variant in the header, the
 * decision log and the metric, per-variant results, a finished test, a shadow test, and tests
 * created through `POST /api/ab-tests`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { API_KEYS_YAML, call, KEYS, storeConfig } from './helpers/api.js';
import { withAppAndClient } from './helpers/app-client.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { sample } from './helpers/http.js';
import { ConsoleClient } from './helpers/console.js';

const BASE = `
identity: {sources: [{header: x-agent-id}]}
cache: {ttl_ms: 60000}
routes:
  - match: {methods: [POST], path: "/v1/refunds/{id}"}
    action_type: payments.refund
    resource: "refund/{id}"
  - match: {methods: [POST], path: "/v1/payouts/{id}"}
    action_type: payments.payout
    resource: "payout/{id}"
  - match: {methods: [GET], path: "/v1/orders/{id}"}
    action_type: orders.read
    resource: "order/{id}"
policies:
  - {id: pol_refund_strict, priority: 50, conditions: {action_type: payments.refund}, action: require_approval, approvers: [finance]}
  - {id: pol_refund_lenient, priority: 50, conditions: {action_type: payments.refund}, action: allow}
  - {id: pol_payout_strict, priority: 50, conditions: {action_type: payments.payout}, action: deny}
  - {id: pol_payout_lenient, priority: 50, conditions: {action_type: payments.payout}, action: allow}
  - {id: pol_orders, priority: 10, conditions: {action_type: orders.read}, action: allow}
  - {id: pol_orders_new, priority: 10, conditions: {action_type: orders.read}, action: deny}
${API_KEYS_YAML}`;

const CONFIG = `${BASE}
ab_tests:
  - {name: refunds-v2, control_policy: pol_refund_strict, test_policy: pol_refund_lenient, traffic_split: 30, duration_days: 7}
  - {name: payouts-shadow, control_policy: pol_payout_strict, test_policy: pol_payout_lenient, traffic_split: 50, duration_days: 7, shadow: true}
  - {name: orders-old, control_policy: pol_orders, test_policy: pol_orders_new, traffic_split: 100, duration_days: 1, start: "2020-01-01T00:00:00Z"}
`;

describe('A/B tests', () => {
  let t: TestApp;
  let client: AuthzClient;
  beforeAll(async () => {
    t = await startApp(CONFIG);
    client = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });
  const check = (method: string, path: string, agent = 'billing-agent') => client.check({ method, path, headers: { 'x-agent-id': agent } });
  const api = (method: string, path: string, body?: unknown, key: string = KEYS.admin) => call(t.url(''), method, path, key, body);

  it('buckets agent and action deterministically: traffic_split % get the test policy', async () => {
    const variants: Record<string, number> = { control: 0, test: 0 };
    for (let i = 0; i < 200; i++) {
      const res = await check('POST', `/v1/refunds/r-${i}`);
      const variant = header(res, 'x-ascend-ab-variant') as string;
      variants[variant] = (variants[variant] ?? 0) + 1;
      // Within the test the other variant's policy is set aside.
      expect(decisionOf(res), `r-${i}`).toBe(variant === 'test' ? 'allowed' : 'pending');
      const again = await check('POST', `/v1/refunds/r-${i}`);
      expect(header(again, 'x-ascend-ab-variant')).toBe(variant);
    }
    expect(variants.control! + variants.test!).toBe(200);
    expect(variants.test).toBeGreaterThan(200 * 0.2);
    expect(variants.test).toBeLessThan(200 * 0.4);

    const lines = t.decisions().filter((l) => l.action_type === 'payments.refund');
    expect(lines).toHaveLength(400);
    expect(lines.every((l) => (l.ab as Record<string, string>)['refunds-v2'] === (l.decision === 'allowed' ? 'test' : 'control'))).toBe(true);

    const metrics = await (await fetch(t.url('/metrics'))).text();
    expect(sample(metrics, 'ascend_ab_decisions_total', { test: 'refunds-v2', variant: 'test', decision: 'allowed' })).toBe(variants.test! * 2);
    expect(sample(metrics, 'ascend_ab_decisions_total', { test: 'refunds-v2', variant: 'control', decision: 'pending' })).toBe(variants.control! * 2);

    const results = await api('GET', '/api/ab-tests/refunds-v2/results', undefined, KEYS.viewer);
    expect(results.status).toBe(200);
    expect(results.body).toMatchObject({
      id: 'refunds-v2', status: 'running', source: 'config',
      variants: { test: { decisions: variants.test! * 2, allowed: variants.test! * 2, denied: 0, pending: 0 },
        control: { decisions: variants.control! * 2, pending: variants.control! * 2, allowed: 0 } },
      divergences: 0,
    });
    expect(typeof results.body.since).toBe('string');
  });

  it('a request no test policy matches carries no variant', async () => {
    const res = await check('GET', '/v1/orders/o-1');
    expect(header(res, 'x-ascend-ab-variant')).toBeUndefined();
  });

  it('after duration_days the control applies and the test is finished', async () => {
    const res = await check('GET', '/v1/orders/o-2');
    expect(decisionOf(res)).toBe('allowed'); // pol_orders, though pol_orders_new took 100 %
    expect(header(res, 'x-ascend-policy-id')).toBe('pol_orders');
    const list = await api('GET', '/api/ab-tests');
    expect(list.body.ab_tests.find((x: any) => x.name === 'orders-old')).toMatchObject({ status: 'finished', end: '2020-01-02T00:00:00.000Z' });
  });

  it('shadow: the control is enforced for everyone, divergences counted', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await check('POST', `/v1/payouts/p-${i}`);
      expect(decisionOf(res)).toBe('denied');
      expect(header(res, 'x-ascend-ab-variant')).toBe('control');
    }
    const r = await api('GET', '/api/ab-tests/payouts-shadow/results');
    expect(r.body).toMatchObject({ shadow: true, divergences: 10, variants: { control: { decisions: 10, denied: 10 }, test: { decisions: 0 } } });
  });

  it('POST /api/ab-tests starts a test on the running config; bad ones name the field', async () => {
    const bad = await api('POST', '/api/ab-tests', { name: 'x', control_policy: 'pol_nope', test_policy: 'pol_orders', traffic_split: 10, duration_days: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', field: 'control_policy' });
    const dup = await api('POST', '/api/ab-tests', { name: 'refunds-v2', control_policy: 'pol_orders', test_policy: 'pol_orders_new', traffic_split: 10, duration_days: 1 });
    expect(dup.body.error.field).toBe('name');
    // Nor a name the decision-cache key's A/B suffix could misread (policy/ab.ts keySuffix).
    const sep = await api('POST', '/api/ab-tests', { name: 'a|b=test', control_policy: 'pol_orders', test_policy: 'pol_orders_new', traffic_split: 10, duration_days: 1 });
    expect([sep.status, sep.body.error?.code]).toEqual([400, 'invalid_request']);
    expect((await api('POST', '/api/ab-tests', { name: 'y', control_policy: 'pol_orders', test_policy: 'pol_orders_new', traffic_split: 10, duration_days: 1 }, KEYS.viewer)).status).toBe(403);

    const before = await check('GET', '/v1/orders/o-77', 'crawler');
    expect(decisionOf(before)).toBe('allowed');
    const created = await api('POST', '/api/ab-tests', { name: 'orders-v3', control_policy: 'pol_orders', test_policy: 'pol_orders_new', traffic_split: 100, duration_days: 2 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'orders-v3', source: 'api', status: 'running', shadow: false });
    // The cached allow was dropped: the test policy now decides (100 %).
    const after = await check('GET', '/v1/orders/o-77', 'crawler');
    expect(decisionOf(after)).toBe('denied');
    expect(header(after, 'x-ascend-ab-variant')).toBe('test');
    expect((await api('GET', '/api/ab-tests/orders-v3/results')).body.variants.test).toMatchObject({ decisions: 1, denied: 1 });
    expect((await api('GET', '/api/ab-tests/nope/results')).status).toBe(404);
  });
});

describe('A/B tests in the audit trail', () => {
  it('each decision row names its test and variant', async () => {
    const dir = tempDir('ascend-ab-audit-');
    await withAppAndClient(storeConfig(dir, CONFIG.replace(API_KEYS_YAML, '')), { dir }, async (t, client) => {
      const res = await client.check({ method: 'POST', path: '/v1/refunds/r-5', headers: { 'x-agent-id': 'billing-agent' } });
      const actionId = header(res, 'x-ascend-action-id') as string;
      const variant = header(res, 'x-ascend-ab-variant');
      const rows = await waitFor(async () => {
        const r = await call(t.url(''), 'GET', `/api/audit?action_id=${actionId}`, KEYS.admin);
        return r.body.items?.length > 0 ? r.body.items : undefined;
      });
      expect(rows[0]).toMatchObject({ action_id: actionId, details: { ab: { 'refunds-v2': variant } } });
    });
  });
});

describe('A/B test config errors name the field', () => {
  it('unknown or equal policies, duplicate names, a bad start', async () => {
    const { runtimeFromText } = await import('../src/config/runtime.js');
    const load = (ab: string) => () => runtimeFromText(`${BASE}\nab_tests:\n${ab}`, 'inline.yaml', 1);
    expect(load('  - {name: a, control_policy: pol_x, test_policy: pol_orders, traffic_split: 5, duration_days: 1}')).toThrow(/ab_tests\[0\]\.control_policy: no enabled policy "pol_x"/);
    expect(load('  - {name: a, control_policy: pol_orders, test_policy: pol_orders, traffic_split: 5, duration_days: 1}')).toThrow(/ab_tests\[0\]\.test_policy: must differ/);
    expect(load('  - {name: a, control_policy: pol_orders, test_policy: pol_orders_new, traffic_split: 5, duration_days: 1, start: soon}')).toThrow(/ab_tests\[0\]\.start/);
    expect(load('  - {name: a, control_policy: pol_orders, test_policy: pol_orders_new, traffic_split: 500, duration_days: 1}')).toThrow(/traffic_split/);
    // The decision-cache key's A/B suffix (`|name=variant`, policy/ab.ts) is unambiguous only while names hold neither.
    for (const name of ['"a|b"', '"a=test"']) {
      expect(load(`  - {name: ${name}, control_policy: pol_orders, test_policy: pol_orders_new, traffic_split: 5, duration_days: 1}`)).toThrow(/ab_tests\[0\]\.name/);
    }
  });
});

describe('monitor-mode would-denies while an A/B test runs', () => {
  // pol_watch (monitor, deny) ranks above both variants: had it been enforced it would have
  // denied every order read, whichever variant decided it. The test variant's policy denies too;
  // that must not hide pol_watch's would-denies (it did: only overrides were counted).
  // pol_orders_new below pol_orders: without the test, order reads are allowed.
  const WATCHED = BASE.replace('policies:\n', 'policies:\n  - {id: pol_watch, priority: 100, mode: monitor, conditions: {action_type: orders.read}, action: deny}\n')
    .replace('{id: pol_orders_new, priority: 10,', '{id: pol_orders_new, priority: 5,');
  const TEST = 'ab_tests: [{name: orders-ab, control_policy: pol_orders, test_policy: pol_orders_new, traffic_split: 50, duration_days: 7}]';

  async function afterReads(yaml: string) {
    const dir = tempDir('ascend-ab-monitor-');
    return withAppAndClient(storeConfig(dir, yaml.replace(API_KEYS_YAML, '')), { dir }, async (t, client) => {
      const variants: Record<string, number> = {};
      for (let i = 0; i < 20; i++) {
        const res = await client.check({ method: 'GET', path: `/v1/orders/o-${i}`, headers: { 'x-agent-id': 'crawler' } });
        const v = header(res, 'x-ascend-ab-variant') ?? 'none';
        variants[v] = (variants[v] ?? 0) + 1;
      }
      const c = new ConsoleClient(t.url(''));
      await c.login(KEYS.viewer);
      const byId = Object.fromEntries(((await c.request('GET', '/policies')).body.items as { id: string }[]).map((p) => [p.id, p]));
      const metrics = await (await fetch(t.url('/metrics'))).text();
      return { variants, byId, overrides: sample(metrics, 'ascend_monitor_overrides_total', { would_be: 'denied' }) };
    });
  }

  it('are counted for every request the monitor policy would have denied, in both variants', async () => {
    const without = await afterReads(WATCHED);
    expect(without.byId.pol_watch).toMatchObject({ hits: 0, monitor_would_deny: 20 });
    const during = await afterReads(`${WATCHED}\n${TEST}`);
    expect(during.variants.test).toBeGreaterThan(0);
    expect(during.variants.control).toBeGreaterThan(0);
    expect(during.byId.pol_watch).toMatchObject({ hits: 0, monitor_would_deny: 20 });
    // The overrides metric keeps its meaning: only requests whose outcome monitor mode changed.
    expect(during.overrides).toBe(during.variants.control);
  });

  it('under top-level mode: monitor, a held test variant does not hide them either', async () => {
    const during = await afterReads(`mode: monitor\n${WATCHED.replace('pol_orders_new, priority: 5, conditions: {action_type: orders.read}, action: deny', 'pol_orders_new, priority: 5, conditions: {action_type: orders.read}, action: require_approval, approvers: [ops]')}\n${TEST}`);
    expect(during.variants.test).toBeGreaterThan(0);
    expect(during.byId.pol_watch).toMatchObject({ monitor_would_deny: 20 });
  });
});

describe('A/B membership and risk', () => {
  it('a test of policies conditioned on risk.score puts requests in the test (membership read the score before it was computed)', async () => {
    const t = await startApp(`
identity: {sources: [{header: x-agent-id}]}
routes:
  - match: {methods: [GET], path: "/v1/orders/{id}"}
    action_type: orders.read
    resource: "order/{id}"
policies:
  - {id: pol_risky_hold, priority: 50, conditions: {action_type: orders.read, risk.score: {gte: 10}}, action: require_approval, approvers: [ops]}
  - {id: pol_risky_allow, priority: 50, conditions: {action_type: orders.read, risk.score: {gte: 10}}, action: allow}
  - {id: pol_orders, priority: 10, conditions: {action_type: orders.read}, action: deny}
ab_tests:
  - {name: risky, control_policy: pol_risky_hold, test_policy: pol_risky_allow, traffic_split: 100, duration_days: 7}
`);
    const client = new AuthzClient(t.grpcPort);
    try {
      const res = await client.check({ method: 'GET', path: '/v1/orders/o-1', headers: { 'x-agent-id': 'billing-agent' } });
      expect(Number(header(res, 'x-ascend-risk-score'))).toBeGreaterThanOrEqual(10);
      expect([decisionOf(res), header(res, 'x-ascend-ab-variant'), header(res, 'x-ascend-policy-id')]).toEqual(['allowed', 'test', 'pol_risky_allow']);
    } finally {
      client.close();
      await t.close();
    }
  });
});
