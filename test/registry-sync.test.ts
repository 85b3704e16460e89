/**
 * Two sidecars on one SQLite file (as `serve --workers 2` runs them): a block or a registration
 * made through one reaches the other's hot path at its next poll of the store's revision, with
 * no decision cached before it served after it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_KEYS as KEYS, AGENTS_CONFIG, SDK_KEY_YAML } from './helpers/agents.js';
import { call, ManualClock, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const dir = tempDir('ascend-registry-sync-');
const clock = new ManualClock(Date.UTC(2025, 0, 6, 9));
let a: TestApp;
let b: TestApp;
let grpcB: AuthzClient;
const refundB = async (agent: string) => decisionOf(await grpcB.check({ method: 'POST', path: '/v1/refunds/r-1?amount=50', headers: { 'x-agent-id': agent } }));

beforeAll(async () => {
  const config = storeConfig(dir, AGENTS_CONFIG, SDK_KEY_YAML);
  for (const d of ['a', 'b']) mkdirSync(join(dir, d));
  a = await startApp(config, { dir: join(dir, 'a') });
  b = await startApp(config, { dir: join(dir, 'b'), app: { now: clock.now, timers: clock.timers } });
  grpcB = new AuthzClient(b.grpcPort);
});
afterAll(async () => {
  grpcB.close();
  await Promise.all([a.close(), b.close()]);
});

describe('two processes, one store', () => {
  it('a block through one process reaches the other at its next poll', async () => {
    expect(await refundB('billing-agent')).toBe('allowed');
    await call(a.url(''), 'POST', '/api/registry/agents/billing-agent/kill-switch', KEYS.admin, { reason: 'incident 7' });
    expect(await refundB('billing-agent')).toBe('allowed'); // b has not polled yet
    clock.advance(1000);
    await waitFor(async () => (await refundB('billing-agent')) === 'denied', { what: 'b to see the block' });
    expect((await call(b.url(''), 'GET', '/api/sdk/kill-switch/status', KEYS.billing)).body).toMatchObject({ active: true, reason: 'incident 7' });

    await call(a.url(''), 'DELETE', '/api/registry/agents/billing-agent/kill-switch', KEYS.admin);
    clock.advance(1000);
    await waitFor(async () => (await refundB('billing-agent')) === 'allowed', { what: 'b to see the lift' });
  });

  it('a registration through one process changes the other\'s decisions past its cache', async () => {
    expect(await refundB('sdk-agent')).toBe('denied');
    expect(await refundB('sdk-agent')).toBe('denied'); // cached in b
    await call(a.url(''), 'POST', '/api/registry/agents', KEYS.sdk, { agent_id: 'sdk-agent', agent_type: 'supervised' });
    clock.advance(1000);
    await waitFor(async () => (await refundB('sdk-agent')) === 'allowed', { what: 'b to see the registration' });
  });
});
