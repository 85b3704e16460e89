/**
 * The kill switch end to end: real gRPC client, real HTTP, a real SQLite file and a real webhook
 * receiver. A blocked agent is denied agent_blocked on Envoy gRPC, Kong, Kong OPA, forward-auth
 * and the REST API even right after an allow was cached; its SDK's status poll says so; the
 * BLOCK command is queued and can be acknowledged; the block survives a restart; the lift
 * allows again; agent.blocked / agent.unblocked reach the receiver and the audit table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_KEYS as KEYS, AGENTS_CONFIG, ENTRIES, entryPoints, SDK_KEY_YAML } from './helpers/agents.js';
import { call, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient } from './helpers/grpc-client.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const dir = tempDir('ascend-kill-switch-');
const SECRET = 'whsec-kill-switch';
const refund = { action_type: 'payments.refund', resource: 'refund/r-1', parameters: { amount: 50 } };
const REFUND = '/v1/refunds/r-1?amount=50';

let receiver: Receiver;
let t: TestApp;
let grpc: AuthzClient;
let ask: ReturnType<typeof entryPoints>;
const api = (method: string, path: string, key?: string, body?: unknown) => call(t.url(''), method, path, key, body);

async function start(): Promise<void> {
  const hooks = `webhooks:\n  - {url: "${receiver.url}/hooks", events: [agent.blocked, agent.unblocked], secret: ${SECRET}}\n`;
  t = await startApp(storeConfig(dir, AGENTS_CONFIG, `${SDK_KEY_YAML}${hooks}`), { dir });
  grpc = new AuthzClient(t.grpcPort, { ownConnection: true });
  ask = entryPoints(t, grpc);
}
async function stop(): Promise<void> {
  grpc.close();
  await t.close();
}

beforeAll(async () => {
  receiver = await startReceiver(SECRET);
  await start();
});
afterAll(async () => {
  await stop();
  await receiver.close();
});

const events = (name: string) => receiver.received.filter((r) => JSON.parse(r.body).event === name);
const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(t.url('/metrics'))).text())?.[1]);

describe('kill switch', () => {
  it('only admin keys block and lift; a block needs a reason', async () => {
    for (const key of [KEYS.sdk, KEYS.finance, KEYS.viewer]) {
      expect((await api('POST', '/api/registry/agents/billing-agent/kill-switch', key, { reason: 'x' })).status).toBe(403);
      expect((await api('DELETE', '/api/registry/agents/billing-agent/kill-switch', key)).status).toBe(403);
    }
    const r = await api('POST', '/api/registry/agents/billing-agent/kill-switch', KEYS.admin, {});
    expect([r.status, r.body.error.field]).toEqual([400, 'reason']);
  });

  it('blocks on every path at once, past a cached allow', async () => {
    for (const e of ENTRIES) expect((await ask(e, 'billing-agent', REFUND, refund)).decision, e).toBe('allowed');
    expect((await ask('grpc', 'billing-agent', REFUND, refund)).decision).toBe('allowed'); // a cache hit now

    const r = await api('POST', '/api/registry/agents/billing-agent/kill-switch', KEYS.admin, { reason: 'exfiltrating customer data' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      agent_id: 'billing-agent', active: true, is_active: true, reason: 'exfiltrating customer data', activated_by: 'ops', changed: true,
      command: { command_type: 'BLOCK', target_type: 'agent', status: 'pending', issued_by: 'ops', issued_via: 'api', is_broadcast: false, parameters: { agent_id: 'billing-agent' } },
    });
    for (const e of ENTRIES) {
      const o = await ask(e, 'billing-agent', REFUND, refund);
      expect(o, e).toEqual({ decision: 'denied', code: 'agent_blocked', status: e === 'api' ? 200 : 403 });
    }
    // Other agents are untouched.
    expect((await ask('api', 'crawler', '/v1/orders/o-1', { action_type: 'orders.read', resource: 'orders' })).decision).toBe('allowed');
    expect(await metric('ascend_agents_blocked')).toBe(1);

    const again = await api('POST', '/api/registry/agents/billing-agent/kill-switch', KEYS.admin, { reason: 'twice' });
    expect(again.body).toMatchObject({ changed: false, command: null, reason: 'exfiltrating customer data' });
  });

  it('tells the agent\'s SDK: status active with the reason; the BLOCK command queued and acknowledged', async () => {
    const status = await api('GET', '/api/sdk/kill-switch/status', KEYS.billing);
    expect(status.body).toEqual({
      agent_id: 'billing-agent', active: true, is_active: true, reason: 'exfiltrating customer data',
      activated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), activated_by: 'ops',
    });
    expect((await api('GET', '/api/sdk/kill-switch/status?agent_id=crawler', KEYS.admin)).body).toMatchObject({ active: false, reason: null });
    const nameless = await api('GET', '/api/sdk/kill-switch/status', KEYS.admin);
    expect([nameless.status, nameless.body.error.field]).toEqual([400, 'agent_id']);

    const queued = await api('GET', '/api/registry/agents/billing-agent/commands', KEYS.billing);
    expect(queued.body).toMatchObject({ agent_id: 'billing-agent', count: 1, commands: [{ command_type: 'BLOCK', reason: 'exfiltrating customer data', status: 'pending' }] });
    const id = queued.body.commands[0].command_id;
    const ack = await api('POST', `/api/registry/agents/billing-agent/commands/${id}/ack`, KEYS.billing, {});
    expect([ack.status, ack.body]).toEqual([200, { success: true, command_id: id, status: 'acknowledged' }]);
    expect((await api('GET', '/api/registry/agents/billing-agent/commands', KEYS.billing)).body).toEqual({ agent_id: 'billing-agent', commands: [], count: 0 });
    expect((await api('POST', '/api/registry/agents/billing-agent/commands/cmd_nope/ack', KEYS.billing, {})).status).toBe(404);
  });

  it('records agent.blocked in the audit trail and delivers it to the webhook', async () => {
    const audit = await t.app.approvals!.store.queryAudit({ limit: 10, event_type: 'agent.blocked' });
    expect(audit.items).toEqual([expect.objectContaining({
      event_type: 'agent.blocked', agent_id: 'billing-agent', actor: 'ops', decision: 'denied', reason: 'exfiltrating customer data',
      details: expect.objectContaining({ activated_by: 'ops' }),
    })]);
    await waitFor(() => events('agent.blocked').length === 1, { what: 'agent.blocked delivery' });
    const delivered = events('agent.blocked')[0]!;
    expect(delivered.verified.ok).toBe(true);
    expect(JSON.parse(delivered.body).data).toMatchObject({ agent_id: 'billing-agent', reason: 'exfiltrating customer data', activated_by: 'ops' });
  });

  it('the block survives a restart on the same SQLite file', async () => {
    await stop();
    await start();
    for (const e of ENTRIES) expect((await ask(e, 'billing-agent', REFUND, refund)).code, e).toBe('agent_blocked');
    expect((await api('GET', '/api/sdk/kill-switch/status', KEYS.billing)).body.active).toBe(true);
  });

  it('the lift allows again everywhere, queues UNBLOCK and emits agent.unblocked', async () => {
    const r = await api('DELETE', '/api/registry/agents/billing-agent/kill-switch', KEYS.admin);
    expect(r.body).toMatchObject({ agent_id: 'billing-agent', active: false, is_active: false, changed: true, command: { command_type: 'UNBLOCK' } });
    for (const e of ENTRIES) expect((await ask(e, 'billing-agent', REFUND, refund)).decision, e).toBe('allowed');
    expect((await api('GET', '/api/sdk/kill-switch/status', KEYS.billing)).body).toMatchObject({ active: false, reason: null, activated_at: null });
    expect((await api('GET', '/api/registry/agents/billing-agent/commands', KEYS.billing)).body.commands.map((c: { command_type: string }) => c.command_type)).toEqual(['UNBLOCK']);
    expect(await metric('ascend_agents_blocked')).toBe(0);
    await waitFor(() => events('agent.unblocked').length === 1, { what: 'agent.unblocked delivery' });
    expect(JSON.parse(events('agent.unblocked')[0]!.body).data).toMatchObject({ agent_id: 'billing-agent', lifted_by: 'ops', blocked_since: expect.any(String) });
    const audit = await t.app.approvals!.store.queryAudit({ limit: 10, event_type: 'agent.unblocked' });
    expect(audit.items.map((a) => [a.agent_id, a.actor, a.decision])).toEqual([['billing-agent', 'ops', 'allowed']]);
    const lifted = await api('DELETE', '/api/registry/agents/billing-agent/kill-switch', KEYS.admin, { reason: 'again' });
    expect(lifted.body).toMatchObject({ changed: false, command: null });
    // GET /api/audit lists decisions only.
    const decisions = await api('GET', '/api/audit?agent_id=billing-agent&limit=200', KEYS.viewer);
    expect(decisions.body.items.every((row: { event_type: string }) => row.event_type === 'decision')).toBe(true);
  });
});
