/**
 * Per-key rate limits over real HTTP, on a clock that moves only when told (no wall-clock
 * timing): a token bucket per key name from api.rate_limit or the key's own rate_limit, 429
 * rate_limited with a small whole-second Retry-After, ascend_api_rate_limited_total{key}.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { call, keyDigest, KEYS, ManualClock } from './helpers/api.js';
import { metricValue, scrape } from './helpers/metrics.js';
import { loadSdkFixture, replay } from './helpers/sdk.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('ascend-rate-');
const clock = new ManualClock(1_796_600_000_000);
let t: TestApp;

beforeAll(async () => {
  t = await startApp(`store: {path: ${JSON.stringify(join(dir, 'data', 'ascend.db'))}}
api: {rate_limit: {requests_per_second: 1, burst: 2}}
api_keys:
  - {name: ops, role: admin, sha256: "${keyDigest(KEYS.admin)}"}
  - {name: audit, role: viewer, sha256: "${keyDigest(KEYS.viewer)}", rate_limit: {requests_per_second: 0.5, burst: 3}}
  - {name: fred, role: approver, groups: [finance-manager], sha256: "${keyDigest(KEYS.finance)}", rate_limit: {requests_per_second: 0.001, burst: 1}}
`, { dir, app: { now: clock.now } });
});
afterAll(() => t?.close());

const get = (key: string) => call(t.url(''), 'GET', '/api/approvals', key);
const limited = async (key: string) => metricValue(await scrape(t.url('/metrics')), `ascend_api_rate_limited_total{key="${key}"}`);

describe('per-key rate limits', () => {
  it('api.rate_limit: a burst of 2, then 429 with Retry-After, counted by key name; a second refills one', async () => {
    expect([(await get(KEYS.admin)).status, (await get(KEYS.admin)).status]).toEqual([200, 200]);
    const r = await get(KEYS.admin);
    expect([r.status, r.headers.get('retry-after')]).toEqual([429, '1']);
    expect(r.body).toMatchObject({ error: { code: 'rate_limited' }, detail: expect.stringContaining('API key "ops" is over its rate limit (1/s, burst 2)') });
    expect(await limited('ops')).toBe(1);
    clock.advance(1000);
    expect((await get(KEYS.admin)).status).toBe(200);
    expect((await get(KEYS.admin)).status).toBe(429);
    expect(await limited('ops')).toBe(2);
  });

  it("a key's own rate_limit replaces api.rate_limit, with its own bucket", async () => {
    for (let i = 0; i < 3; i++) expect((await get(KEYS.viewer)).status).toBe(200);
    const r = await get(KEYS.viewer);
    expect([r.status, r.headers.get('retry-after')]).toEqual([429, '2']);
    expect(await limited('audit')).toBe(1);
    expect(await limited('ops')).toBe(2); // untouched by the other key
  });

  it('Retry-After stays small however slow the refill (the SDK honours it uncapped)', async () => {
    expect((await get(KEYS.finance)).status).toBe(200);
    const r = await get(KEYS.finance);
    expect([r.status, r.headers.get('retry-after')]).toEqual([429, '10']);
  });

  it('an unknown key is refused before the limiter, which counts only configured names', async () => {
    expect((await get('not-a-key')).status).toBe(401);
    const text = await scrape(t.url('/metrics'));
    const keys = [...text.matchAll(/^ascend_api_rate_limited_total\{key="([^"]+)"\}/gm)].map((m) => m[1]);
    expect(keys.sort()).toEqual(['audit', 'fred', 'ops']);
  });

  it("the SDK's own request gets the 429 and a Retry-After it can parse as an int", async () => {
    clock.advance(10_000);
    const list = loadSdkFixture('webhooks-2.3.0.json').requests.list_webhooks!;
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await replay(t.url(''), list)).status);
    expect(codes).toEqual([200, 200, 429]);
    const r = await replay(t.url(''), list);
    expect([r.status, Number.parseInt(String(r.headers['retry-after']), 10)]).toEqual([429, 1]);
  });
});
