/**
 * The ASCEND Python SDK's own requests for the agent endpoints, replayed byte for byte
 * (test/fixtures/sdk/registry: method, path, every header the SDK sent — Content-Type on
 * bodiless GET/DELETE, X-API-Key and Bearer, User-Agent, X-SDK-Version, X-Correlation-ID,
 * X-Request-Timestamp — and the body) against the real server with a real SQLite file, for
 * SDK 2.3.0 and 2.5.1. Each answer is checked for every field the SDK's models read
 * (docs/sdk.md, "Agents, heartbeats and the kill switch").
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_KEYS as KEYS, AGENTS_CONFIG, SDK_KEY, SDK_KEY_YAML } from './helpers/agents.js';
import { call, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { rawRequest } from './helpers/http.js';
import { tempDir } from './helpers/tmp.js';

interface Captured { method: string; path: string; headers: Record<string, string>; body: string | null }
interface Fixture { sdk: string; requests: Record<string, Captured> }
const load = (v: string) => JSON.parse(readFileSync(new URL(`./fixtures/sdk/registry/sdk-${v}.json`, import.meta.url), 'utf8')) as Fixture;

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const COMMAND_FIELDS = ['command_id', 'command_type', 'target_type', 'reason', 'parameters', 'status', 'issued_by', 'issued_via', 'created_at', 'expires_at', 'is_broadcast'];

describe.each(['2.3.0', '2.5.1'])('SDK %s requests, replayed', (version) => {
  const fx = load(version);
  const dir = tempDir(`ascend-sdk-${version}-`);
  let t: TestApp;
  beforeAll(async () => { t = await startApp(storeConfig(dir, AGENTS_CONFIG, SDK_KEY_YAML), { dir }); });
  afterAll(() => t.close());

  /** Sends a captured request as it was (optionally with its path changed); the JSON answer. */
  async function replay(name: string, path?: (p: string) => string): Promise<{ status: number; body: any }> {
    const c = fx.requests[name];
    if (!c) throw new Error(`no captured request ${name} for SDK ${version}`);
    const r = await rawRequest(t.httpPort, { method: c.method, path: path ? path(c.path) : c.path, headers: c.headers, ...(c.body === null ? {} : { body: c.body }) });
    return { status: r.status, body: JSON.parse(r.body) }; // every 2xx must be JSON for the SDK
  }

  it('the captures are the SDK\'s: its headers on every request, its key twice', () => {
    for (const [name, c] of Object.entries(fx.requests)) {
      expect(c.headers, name).toMatchObject({
        'Content-Type': 'application/json', 'X-API-Key': SDK_KEY, Authorization: `Bearer ${SDK_KEY}`,
        'User-Agent': `ascend-sdk/${version} Python`, 'X-SDK-Version': version,
        'X-Correlation-ID': expect.stringMatching(/^asc_[0-9a-f]{16}$/), 'X-Request-Timestamp': expect.stringMatching(/\+00:00$/),
      });
    }
    expect(fx.requests.deregister).toMatchObject({ method: 'DELETE', body: null, headers: { 'Content-Length': '0' } });
  });

  it('register: 201, then idempotent 200 with the record and a trust_level', async () => {
    const first = await replay('register');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ agent_id: 'sdk-agent', agent_type: 'supervised', trust_level: 'self', created: true, sdk_version: version });
    const again = await replay(version === '2.5.1' ? 'register_agent' : 'register');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ agent_id: 'sdk-agent', trust_level: 'self', created: false });
  });

  it('heartbeat and get_agent_status: agent_id, status, last_heartbeat, uptime_seconds, metadata', async () => {
    const beats = ['heartbeat', ...(version === '2.5.1' ? ['start_heartbeat', 'send_heartbeat'] : ['heartbeat_agent_id_null'])];
    for (const name of beats) expect((await replay(name)).body, name).toMatchObject({ agent_id: 'sdk-agent', status: 'healthy' });
    for (const name of ['get_agent_status', ...(version === '2.5.1' ? ['get_agent'] : [])]) {
      const r = await replay(name);
      expect([r.status, r.body], name).toEqual([200, {
        agent_id: 'sdk-agent', status: 'healthy', last_heartbeat: ISO, uptime_seconds: expect.any(Number),
        metadata: expect.objectContaining({ sdk_version: version }),
      }]);
      expect(Number.isInteger(r.body.uptime_seconds)).toBe(true);
    }
  });

  it('the kill-switch poll reads active|is_active, reason, activated_at, activated_by; commands and ack follow', async () => {
    expect((await replay('kill_switch_status')).body).toEqual({ agent_id: 'sdk-agent', active: false, is_active: false, reason: null, activated_at: null, activated_by: null });
    expect((await replay('get_pending_commands')).body).toEqual({ agent_id: 'sdk-agent', commands: [], count: 0 });
    await call(t.url(''), 'POST', '/api/registry/agents/sdk-agent/kill-switch', KEYS.admin, { reason: 'prompt injection' });

    const status = await replay('kill_switch_status');
    expect([status.status, status.body]).toEqual([200, { agent_id: 'sdk-agent', active: true, is_active: true, reason: 'prompt injection', activated_at: ISO, activated_by: 'ops' }]);
    const pending = await replay('get_pending_commands');
    expect(pending.body).toMatchObject({ agent_id: 'sdk-agent', count: 1 });
    const [command] = pending.body.commands;
    for (const f of COMMAND_FIELDS) expect(command, f).toHaveProperty(f);
    expect(command).toMatchObject({
      command_type: 'BLOCK', target_type: 'agent', reason: 'prompt injection', parameters: { agent_id: 'sdk-agent' }, status: 'pending',
      issued_by: 'ops', issued_via: 'api', created_at: ISO, expires_at: ISO, is_broadcast: false,
    });

    const unknown = await replay('ack_command'); // the SDK's own id, c-1, names no command here
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
    const ack = await replay('ack_command', (p) => p.replace('/c-1/', `/${command.command_id}/`));
    expect([ack.status, ack.body]).toEqual([200, { success: true, command_id: command.command_id, status: 'acknowledged' }]);
    expect((await replay('get_pending_commands')).body.count).toBe(0);
  });

  it('link_model_to_agent: {success, agent, message} with the model; deregister: 200 with a JSON body', async () => {
    const link = await replay('link_model_to_agent');
    expect([link.status, link.body]).toEqual([200, { success: true, agent: expect.objectContaining({ agent_id: 'sdk-agent', model_id: 5 }), message: expect.any(String) }]);
    const gone = await replay('deregister');
    expect([gone.status, gone.body]).toEqual([200, { success: true, agent_id: 'sdk-agent', message: expect.any(String) }]);
    expect((await replay('deregister')).status).toBe(404);
    // The block is by agent id: deregistering does not lift it.
    expect((await replay('kill_switch_status')).body.active).toBe(true);
  });
});
