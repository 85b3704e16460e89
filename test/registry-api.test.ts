/**
 * The agent registry over real HTTP and gRPC with a real SQLite file: roles, idempotent
 * registration, registered agents deciding on every path (config wins a clash), the decision
 * cache never serving a decision made before a registration, update and deregistration, and
 * what works without `store:`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_KEYS, AGENTS_CONFIG, ENTRIES, entryPoints, SDK_KEY_YAML } from './helpers/agents.js';
import { API_KEYS_YAML, call, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient } from './helpers/grpc-client.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('ascend-registry-');
const KEYS = AGENT_KEYS;
const sdkAgent = (over: Record<string, unknown> = {}) => ({
  agent_id: 'sdk-agent', display_name: 'SDK agent', agent_type: 'supervised', environment: 'production',
  capabilities: [], allowed_resources: [], sdk_version: '2.3.0', metadata: {}, ...over,
});
const refund = { action_type: 'payments.refund', resource: 'refund/r-1', parameters: { amount: 50 } };
const tool = { action_type: 'tools.run', resource: 'tool/ls' };

let t: TestApp;
let grpc: AuthzClient;
let ask: ReturnType<typeof entryPoints>;
let api: <T = any>(method: string, path: string, key?: string, body?: unknown) => ReturnType<typeof call<T>>;
beforeAll(async () => {
  t = await startApp(storeConfig(dir, AGENTS_CONFIG, SDK_KEY_YAML), { dir });
  grpc = new AuthzClient(t.grpcPort);
  ask = entryPoints(t, grpc);
  api = (method, path, key, body) => call(t.url(''), method, path, key, body);
});
afterAll(async () => {
  grpc.close();
  await t.close();
});

describe('roles', () => {
  type Row = [string, string, unknown, readonly (keyof typeof KEYS)[]];
  const rows: Row[] = [
    ['POST', '/api/registry/agents', sdkAgent(), ['admin', 'sdk']],
    ['GET', '/api/registry/agents', undefined, ['admin', 'finance', 'sdk', 'viewer']],
    ['GET', '/api/registry/agents/sdk-agent', undefined, ['admin', 'finance', 'sdk', 'viewer']],
    ['PUT', '/api/registry/agents/sdk-agent', { model_id: 3 }, ['admin', 'sdk']],
    ['POST', '/api/agents/health/heartbeat', { agent_id: 'sdk-agent', sdk_version: '2.3.0' }, ['admin', 'sdk']],
    ['GET', '/api/agents/health/sdk-agent', undefined, ['admin', 'finance', 'sdk', 'viewer']],
    ['GET', '/api/sdk/kill-switch/status?agent_id=sdk-agent', undefined, ['admin', 'finance', 'sdk', 'viewer']],
    ['GET', '/api/registry/agents/sdk-agent/commands', undefined, ['admin', 'finance', 'sdk', 'viewer']],
    ['POST', '/api/registry/agents/sdk-agent/commands/cmd_x/ack', {}, ['admin', 'sdk']],
    ['POST', '/api/registry/agents/nobody/kill-switch', { reason: 'r' }, ['admin']],
    ['DELETE', '/api/registry/agents/nobody/kill-switch', {}, ['admin']],
    ['DELETE', '/api/registry/agents/sdk-agent', undefined, ['admin', 'sdk']],
  ];

  it.each(rows)('%s %s: 401 without a key, 403 forbidden for other roles', async (method, path, body, allowed) => {
    expect((await api(method, path, undefined, body)).status).toBe(401);
    for (const role of ['admin', 'finance', 'sdk', 'viewer'] as const) {
      const r = await api(method, path, KEYS[role], body);
      if (allowed.includes(role)) expect([401, 403], `${role}: ${JSON.stringify(r.body)}`).not.toContain(r.status);
      else expect([r.status, r.body.error.code], role).toEqual([403, 'forbidden']);
    }
  });

  it('an agent key acts only for its own agent: 403 agent_mismatch otherwise', async () => {
    const other = 'billing-agent';
    const calls: [string, string, unknown][] = [
      ['POST', '/api/registry/agents', sdkAgent({ agent_id: other })],
      ['GET', `/api/registry/agents/${other}`, undefined],
      ['PUT', `/api/registry/agents/${other}`, { model_id: 1 }],
      ['DELETE', `/api/registry/agents/${other}`, undefined],
      ['POST', '/api/agents/health/heartbeat', { agent_id: other }],
      ['GET', `/api/agents/health/${other}`, undefined],
      ['GET', `/api/sdk/kill-switch/status?agent_id=${other}`, undefined],
      ['GET', `/api/registry/agents/${other}/commands`, undefined],
      ['POST', `/api/registry/agents/${other}/commands/cmd_x/ack`, {}],
    ];
    for (const [method, path, body] of calls) {
      const r = await api(method, path, KEYS.sdk, body);
      expect([r.status, r.body.error?.code], `${method} ${path}`).toEqual([403, 'agent_mismatch']);
    }
  });
});

describe('registration', () => {
  it('registers once (201), answers the same record again (200), and lists it', async () => {
    await api('DELETE', '/api/registry/agents/sdk-agent', KEYS.admin);
    const first = await api('POST', '/api/registry/agents', KEYS.sdk, sdkAgent({ metadata: { team: 'ops' } }));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      agent_id: 'sdk-agent', display_name: 'SDK agent', agent_type: 'supervised', capabilities: [], metadata: { team: 'ops' },
      trust_level: 'self', status: 'active', registered_by: 'sdk', created: true, model_id: null,
    });
    const again = await api('POST', '/api/registry/agents', KEYS.sdk, sdkAgent({ metadata: { team: 'ops' } }));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, created: false });
    expect((await api('GET', '/api/registry/agents', KEYS.sdk)).body.items.map((a: { agent_id: string }) => a.agent_id)).toEqual(['sdk-agent']);
    const { created: _created, ...view } = first.body;
    expect((await api('GET', '/api/registry/agents/sdk-agent', KEYS.viewer)).body).toEqual(view);
  });

  it('rejects a bad agent id, an unknown agent type and a wrong field type with the field named', async () => {
    for (const [body, field] of [
      [sdkAgent({ agent_id: 'bad agent' }), 'agent_id'], [sdkAgent({ agent_type: 'robot' }), 'agent_type'], [sdkAgent({ capabilities: 'shell' }), 'capabilities'],
    ] as const) {
      const r = await api('POST', '/api/registry/agents', KEYS.admin, body);
      expect([r.status, r.body.error.code, r.body.error.field]).toEqual([400, 'invalid_request', field]);
    }
  });

  it('a registration changes decisions on every path at once, past decisions cached before it', async () => {
    await api('DELETE', '/api/registry/agents/sdk-agent', KEYS.admin);
    for (const e of ENTRIES) expect((await ask(e, 'sdk-agent', '/v1/refunds/r-1?amount=50', refund)).decision, e).toBe('denied');
    // Cached now: the same request again is a hit.
    const hits = () => fetch(t.url('/metrics')).then((r) => r.text()).then((m) => Number(/ascend_decision_cache_hits_total (\d+)/.exec(m)?.[1]));
    const before = await hits();
    expect((await ask('grpc', 'sdk-agent', '/v1/refunds/r-1?amount=50', refund)).decision).toBe('denied');
    expect(await hits()).toBe(before + 1);

    expect((await api('POST', '/api/registry/agents', KEYS.sdk, sdkAgent({ capabilities: ['shell'] }))).status).toBe(201);
    for (const e of ENTRIES) {
      expect((await ask(e, 'sdk-agent', '/v1/refunds/r-1?amount=50', refund)).decision, `${e}: agent.type supervised`).toBe('allowed');
      expect((await ask(e, 'sdk-agent', '/v1/tools/ls', tool)).decision, `${e}: agent.capabilities shell`).toBe('allowed');
    }
    await api('PUT', '/api/registry/agents/sdk-agent', KEYS.sdk, { agent_type: 'autonomous', capabilities: [] });
    for (const e of ENTRIES) {
      expect((await ask(e, 'sdk-agent', '/v1/refunds/r-1?amount=50', refund)).decision, e).toBe('denied');
      expect((await ask(e, 'sdk-agent', '/v1/tools/ls', tool)).decision, e).toBe('denied');
    }
  });

  it('the config agent wins a clash: registering crawler as supervised changes nothing', async () => {
    const r = await api('POST', '/api/registry/agents', KEYS.admin, sdkAgent({ agent_id: 'crawler', capabilities: ['shell'] }));
    expect(r.body).toMatchObject({ agent_id: 'crawler', trust_level: 'config' });
    for (const e of ENTRIES) expect((await ask(e, 'crawler', '/v1/refunds/r-1?amount=50', refund)).decision, e).toBe('denied');
    expect((await ask('grpc', 'crawler', '/v1/tools/ls', tool)).decision).toBe('denied');
  });

  it('what an admin set stays: the agent re-registering keeps it, and may not PUT it', async () => {
    await api('POST', '/api/registry/agents', KEYS.admin, sdkAgent({ capabilities: ['shell'] }));
    const re = await api('POST', '/api/registry/agents', KEYS.sdk, sdkAgent({ sdk_version: '2.5.1' }));
    expect(re.body).toMatchObject({ capabilities: ['shell'], sdk_version: '2.5.1', trust_level: 'admin', updated_by: 'sdk' });
    const put = await api('PUT', '/api/registry/agents/sdk-agent', KEYS.sdk, { capabilities: ['shell', 'root'] });
    expect([put.status, put.body.error.code, put.body.detail]).toEqual([403, 'forbidden', expect.stringContaining('capabilities of agent sdk-agent were set by an admin key')]);
  });

  it('links a model (the SDK\'s PUT {model_id}) and answers {success, agent, message}', async () => {
    const r = await api('PUT', '/api/registry/agents/sdk-agent', KEYS.sdk, { model_id: 42 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, agent: { agent_id: 'sdk-agent', model_id: 42 }, message: 'agent sdk-agent updated' });
    expect((await api('PUT', '/api/registry/agents/sdk-agent', KEYS.sdk, { model_id: 0 })).body.error.field).toBe('model_id');
    expect((await api('PUT', '/api/registry/agents/sdk-agent', KEYS.sdk, {})).status).toBe(400);
    expect((await api('PUT', '/api/registry/agents/ghost', KEYS.admin, { model_id: 1 })).status).toBe(404);
  });

  it('deregisters with a JSON body (200), and the agent is unregistered on every path again', async () => {
    await api('POST', '/api/registry/agents', KEYS.admin, sdkAgent({ capabilities: ['shell'] }));
    expect((await ask('grpc', 'sdk-agent', '/v1/tools/ls', tool)).decision).toBe('allowed');
    const r = await api('DELETE', '/api/registry/agents/sdk-agent', KEYS.sdk);
    expect([r.status, r.body]).toEqual([200, { success: true, agent_id: 'sdk-agent', message: 'agent sdk-agent deregistered' }]);
    for (const e of ENTRIES) expect((await ask(e, 'sdk-agent', '/v1/tools/ls', tool)).decision, e).toBe('denied');
    expect((await api('DELETE', '/api/registry/agents/sdk-agent', KEYS.sdk)).status).toBe(404);
    expect((await api('GET', '/api/registry/agents/sdk-agent', KEYS.admin)).status).toBe(404);
  });

  it('counts registered agents on /metrics', async () => {
    await api('POST', '/api/registry/agents', KEYS.sdk, sdkAgent());
    const m = await (await fetch(t.url('/metrics'))).text();
    const n = (await api('GET', '/api/registry/agents', KEYS.admin)).body.items.length;
    expect(m).toContain(`ascend_agents_registered ${n}`);
  });

  it('publishes every new route in the OpenAPI document with a tag and a summary', async () => {
    const doc = (await api('GET', '/api/docs', KEYS.viewer)).body;
    const want: [string, string][] = [
      ['/api/registry/agents', 'post'], ['/api/registry/agents', 'get'], ['/api/registry/agents/{agent_id}', 'get'],
      ['/api/registry/agents/{agent_id}', 'put'], ['/api/registry/agents/{agent_id}', 'delete'],
      ['/api/agents/health/heartbeat', 'post'], ['/api/agents/health/{agent_id}', 'get'],
      ['/api/registry/agents/{agent_id}/kill-switch', 'post'], ['/api/registry/agents/{agent_id}/kill-switch', 'delete'],
      ['/api/sdk/kill-switch/status', 'get'], ['/api/registry/agents/{agent_id}/commands', 'get'],
      ['/api/registry/agents/{agent_id}/commands/{command_id}/ack', 'post'],
    ];
    for (const [path, method] of want) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.tags.length, `${method} ${path}`).toBeGreaterThan(0);
      expect(op.summary, `${method} ${path}`).toEqual(expect.any(String));
    }
  });
});

describe('without store:', () => {
  it('registry, kill switch and commands answer 501; heartbeats, health and kill-switch status work in memory', async () => {
    const bare = await startApp(`${API_KEYS_YAML}${SDK_KEY_YAML}${AGENTS_CONFIG}`);
    try {
      const c = (method: string, path: string, body?: unknown, key: string = KEYS.admin) => call(bare.url(''), method, path, key, body);
      for (const [method, path, body] of [
        ['POST', '/api/registry/agents', sdkAgent()], ['GET', '/api/registry/agents', undefined], ['PUT', '/api/registry/agents/sdk-agent', { model_id: 1 }],
        ['DELETE', '/api/registry/agents/sdk-agent', undefined], ['POST', '/api/registry/agents/sdk-agent/kill-switch', { reason: 'r' }],
        ['GET', '/api/registry/agents/sdk-agent/commands', undefined], ['POST', '/api/registry/agents/sdk-agent/commands/c/ack', {}],
      ] as const) {
        const r = await c(method, path, body);
        expect([r.status, r.body.error.code], `${method} ${path}`).toEqual([501, 'store_not_configured']);
      }
      expect((await c('POST', '/api/agents/health/heartbeat', { agent_id: null, sdk_version: '2.3.0' }, KEYS.sdk)).body).toMatchObject({ agent_id: 'sdk-agent', status: 'healthy' });
      expect((await c('GET', '/api/agents/health/sdk-agent')).body.status).toBe('healthy');
      expect((await c('GET', '/api/sdk/kill-switch/status', undefined, KEYS.sdk)).body).toMatchObject({ agent_id: 'sdk-agent', active: false, is_active: false });
    } finally {
      await bare.close();
    }
  });
});
