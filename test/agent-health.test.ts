/**
 * Heartbeats and health status over real HTTP with a real SQLite file, on the app's injected
 * clock (no sleeping): unknown → healthy → stale → offline → a new session; the agent key's
 * own agent when the SDK sends agent_id null; the write-behind flush reaching the store and a
 * restart reading it back.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_KEYS as KEYS, AGENTS_CONFIG, SDK_KEY_YAML } from './helpers/agents.js';
import { call, ManualClock, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const dir = tempDir('ascend-health-');
const T0 = Date.UTC(2025, 0, 6, 9);
const clock = new ManualClock(T0);
const SEC = 1000;
const CONFIG = storeConfig(dir, AGENTS_CONFIG, SDK_KEY_YAML);
const start = () => startApp(CONFIG, { dir, app: { now: clock.now, timers: clock.timers } });

let t: TestApp;
const api = (method: string, path: string, key?: string, body?: unknown) => call(t.url(''), method, path, key, body);
const beat = (body: Record<string, unknown> = {}) => api('POST', '/api/agents/health/heartbeat', KEYS.sdk, {
  agent_id: null, sdk_version: '2.3.0', timestamp: new Date(clock.now()).toISOString(), ...body,
});
const health = async (agent = 'sdk-agent') => (await api('GET', `/api/agents/health/${agent}`, KEYS.viewer)).body;

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  t = await start();
});
afterAll(() => t.close());

describe('heartbeats and health', () => {
  it('goes unknown → healthy → stale → offline, and a late heartbeat starts a new session', async () => {
    expect(await health()).toEqual({
      agent_id: 'sdk-agent', status: 'unknown', last_heartbeat: null, uptime_seconds: null,
      metadata: { healthy_within_seconds: 120, offline_after_seconds: 300 },
    });
    const first = await beat({ response_time_ms: 12.5, error_rate: 0.01, requests_count: 40 });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ agent_id: 'sdk-agent', status: 'healthy', uptime_seconds: 0, last_heartbeat: new Date(T0).toISOString() });
    expect(first.body.metadata).toMatchObject({
      sdk_version: '2.3.0', response_time_ms: 12.5, error_rate: 0.01, requests_count: 40, client_timestamp: new Date(T0).toISOString(),
      session_started_at: new Date(T0).toISOString(),
    });

    clock.advance(60 * SEC);
    await beat();
    clock.advance(120 * SEC);
    expect(await health()).toMatchObject({ status: 'healthy', uptime_seconds: 180, last_heartbeat: new Date(T0 + 60 * SEC).toISOString() });
    clock.advance(1 * SEC);
    expect(await health()).toMatchObject({ status: 'stale', uptime_seconds: 181 });
    clock.advance(179 * SEC);
    expect(await health()).toMatchObject({ status: 'stale' }); // 300 s since the last heartbeat
    clock.advance(1 * SEC);
    expect(await health()).toMatchObject({ status: 'offline', uptime_seconds: null });

    await beat();
    expect(await health()).toMatchObject({ status: 'healthy', uptime_seconds: 0, metadata: { session_started_at: new Date(clock.now()).toISOString() } });
  });

  it('agent keys beat for their own agent only; other keys must name one', async () => {
    const other = await beat({ agent_id: 'billing-agent' });
    expect([other.status, other.body.error.code]).toEqual([403, 'agent_mismatch']);
    const nameless = await api('POST', '/api/agents/health/heartbeat', KEYS.admin, { agent_id: null, sdk_version: '2.3.0' });
    expect([nameless.status, nameless.body.error.field]).toEqual([400, 'agent_id']);
    const named = await api('POST', '/api/agents/health/heartbeat', KEYS.admin, { agent_id: 'billing-agent' });
    expect(named.body).toMatchObject({ agent_id: 'billing-agent', status: 'healthy' });
    const bad = await beat({ error_rate: -1 });
    expect([bad.status, bad.body.error.field]).toEqual([400, 'error_rate']);
    expect((await api('GET', '/api/agents/health/billing-agent', KEYS.sdk)).status).toBe(403);
  });

  it('counts heartbeats without an agent label', async () => {
    const m = await (await fetch(t.url('/metrics'))).text();
    expect(m).toMatch(/^ascend_agent_heartbeats_total [1-9]\d*$/m);
  });

  it('persists write-behind within 30 s, and a restart reads the last heartbeat back', async () => {
    await beat({ requests_count: 99 });
    const at = clock.now();
    const stored = () => t.app.approvals!.store.getHeartbeat('sdk-agent');
    expect((await stored())?.last_heartbeat).not.toBe(at); // not written on the request
    clock.advance(30 * SEC);
    await waitFor(async () => (await stored())?.last_heartbeat === at, { what: 'the heartbeat flush' });
    clock.advance(10 * SEC);
    await beat({ requests_count: 100 });
    await t.close(); // shutdown writes what is still dirty
    t = await start();
    expect(await health()).toMatchObject({ status: 'healthy', last_heartbeat: new Date(clock.now()).toISOString(), uptime_seconds: 40, metadata: { requests_count: 100 } });
  });
});
