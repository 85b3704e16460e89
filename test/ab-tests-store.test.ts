/**
 * A/B tests made through `POST /api/ab-tests` are kept in the store (issue 18 item 3): they run
 * again after a restart on the same SQLite file, and two sidecars on one PostgreSQL schema both
 * run a test made through either (NOTIFY, else the 5 s re-read). Real HTTP, real gRPC checks.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AB_POLL_MS } from '../src/pipeline/ab-sync.js';
import { systemTimers, type Timers } from '../src/shared/runtime.js';
import { startApp, type TestApp } from './helpers/app.js';
import { API_KEYS_YAML, call, KEYS, storeConfig } from './helpers/api.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { testPg } from './helpers/pg.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const BASE = `
identity: {sources: [{header: x-agent-id}]}
cache: {ttl_ms: 60000}
routes:
  - match: {methods: [GET], path: "/v1/orders/{id}"}
    action_type: orders.read
    resource: "order/{id}"
policies:
  - {id: pol_orders, priority: 10, conditions: {action_type: orders.read}, action: allow}
  - {id: pol_orders_new, priority: 5, conditions: {action_type: orders.read}, action: deny}
`;
const TEST = { name: 'orders-v3', control_policy: 'pol_orders', test_policy: 'pol_orders_new', traffic_split: 100, duration_days: 2 };

const open: { t: TestApp; c: AuthzClient }[] = [];
afterAll(async () => { for (const { t, c } of open.splice(0)) { c.close(); await t.close(); } });

/**
 * Timers that never run the A/B tests' periodic re-read (any timeout of AB_POLL_MS): a replica
 * with these learns of another's test only from the fleet notification.
 */
function withoutAbPoll(): Timers & { held: number } {
  const t = {
    held: 0,
    setTimeout: (fn: () => void, ms: number): unknown => {
      if (ms !== AB_POLL_MS) return systemTimers.setTimeout(fn, ms);
      t.held++;
      return undefined;
    },
    clearTimeout: (h: unknown) => systemTimers.clearTimeout(h),
  };
  return t;
}

async function sidecar(yaml: string, dir?: string, timers?: Timers) {
  const t = await startApp(yaml, { ...(dir === undefined ? {} : { dir }), ...(timers === undefined ? {} : { app: { timers } }) });
  const c = new AuthzClient(t.grpcPort, { ownConnection: true });
  open.push({ t, c });
  const api = (method: string, path: string, body?: unknown) => call(t.url(''), method, path, KEYS.admin, body);
  const order = (id: string) => c.check({ method: 'GET', path: `/v1/orders/${id}`, headers: { 'x-agent-id': 'crawler' } });
  const stop = async () => { c.close(); await t.close(); open.splice(open.findIndex((o) => o.t === t), 1); };
  return { t, api, order, stop };
}

describe('A/B tests made through the API, in the store', () => {
  it('SQLite: a restart runs the test again (same start, same variant)', async () => {
    const dir = tempDir('ascend-ab-store-');
    const yaml = storeConfig(dir, BASE);
    const first = await sidecar(yaml, dir);
    expect(decisionOf(await first.order('o-1'))).toBe('allowed');
    const created = await first.api('POST', '/api/ab-tests', TEST);
    expect(created.status).toBe(201);
    expect(decisionOf(await first.order('o-1'))).toBe('denied');
    await first.stop();

    const again = await sidecar(yaml, dir);
    const list = (await again.api('GET', '/api/ab-tests')).body.ab_tests;
    expect(list).toEqual([created.body]);
    const res = await again.order('o-2');
    expect([decisionOf(res), header(res, 'x-ascend-ab-variant')]).toEqual(['denied', 'test']);
    // Still one test of that name.
    expect((await again.api('POST', '/api/ab-tests', TEST)).body.error).toMatchObject({ code: 'invalid_request', field: 'name' });
  });

  it('PostgreSQL: a test made through one replica runs on the other (notified, not polled), and its name is taken on both', async () => {
    const db = await testPg();
    process.env.TEST_PG_URL = db.url;
    const yaml = `store: {driver: postgres, url: {env: TEST_PG_URL}, schema: ${db.schema('ab')}, pool_max: 4}\n${API_KEYS_YAML}\n${BASE}`;
    const a = await sidecar(yaml);
    // B never re-reads on its own: only A's NOTIFY can tell it of the new test.
    const bTimers = withoutAbPoll();
    const b = await sidecar(yaml, undefined, bTimers);
    expect(bTimers.held).toBeGreaterThan(0);
    // B caches an allow first: adopting the test must drop it.
    expect(decisionOf(await b.order('o-9'))).toBe('allowed');
    expect((await a.api('POST', '/api/ab-tests', TEST)).status).toBe(201);
    const seen = await waitFor(async () => {
      const list = (await b.api('GET', '/api/ab-tests')).body.ab_tests;
      return list.length > 0 ? list : undefined;
    }, { timeoutMs: 8000 });
    expect(seen).toMatchObject([{ name: 'orders-v3', source: 'api', status: 'running' }]);
    const res = await b.order('o-9');
    expect([decisionOf(res), header(res, 'x-ascend-ab-variant')]).toEqual(['denied', 'test']);
    expect((await b.api('POST', '/api/ab-tests', { ...TEST, traffic_split: 5 })).body.error).toMatchObject({ field: 'name' });
    expect((await a.api('GET', '/api/ab-tests')).body.ab_tests).toMatchObject([{ name: 'orders-v3', traffic_split: 100 }]);
  });
});
