/**
 * One agent's life through the ASCEND SDK's own requests (fixtures captured on the wire from the
 * official Python SDK 2.3.0), against a real sidecar with a real SQLite store, beside an Envoy
 * gateway's gRPC checks: register → evaluate (allowed, denied, pending) → an approver approves
 * over the API → the status turns allowed and a waiting long-poll returns → complete; the kill
 * switch then denies the agent through the SDK's endpoint and through Envoy at once, until it is
 * lifted; query_audit_log shows the decisions and the block.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_KEYS, SDK_KEY, SDK_KEY_YAML } from './helpers/agents.js';
import { call, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { rawRequest } from './helpers/http.js';
import { tempDir } from './helpers/tmp.js';

interface Captured { name?: string; method: string; path: string; headers: Record<string, string>; body: string | null }
const ACTIONS = JSON.parse(readFileSync(new URL('./fixtures/sdk/actions.json', import.meta.url), 'utf8')) as { requests: Captured[] };
const REGISTRY = JSON.parse(readFileSync(new URL('./fixtures/sdk/registry/sdk-2.3.0.json', import.meta.url), 'utf8')) as { requests: Record<string, Captured> };

const POLICIES = `
routes:
  - match: {path: "/v1/charges/{id}"}
    action_type: payment.create
    resource: "stripe:charges"
    parameters: {amount: "{query.amount}"}
policies:
  - {id: pol_deny_delete, priority: 100, action: deny, conditions: {action_type: "*.delete"}}
  - {id: pol_big, priority: 80, action: require_approval, approvers: [finance-manager],
     conditions: {action_type: payment.create, parameters.amount: {gt: 1000}}}
  - {id: pol_allow, priority: 10, action: allow, conditions: {}}
`;

describe('an agent through the SDK, beside Envoy', () => {
  let t: TestApp;
  let envoy: AuthzClient;
  const AGENT = 'sdk-agent';

  /** Sends a captured SDK request with the sidecar's key and this agent, as the SDK would. */
  async function sdk(c: Captured, over: { path?: string; body?: string } = {}): Promise<{ status: number; body: any }> {
    const key = /Bearer (\S+)/.exec(c.headers.authorization ?? c.headers.Authorization ?? '')?.[1];
    const headers = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, key && key !== SDK_KEY ? v.replaceAll(key, SDK_KEY) : v.replace('{api_key}', SDK_KEY)]));
    const body = over.body ?? c.body?.replaceAll('billing-agent', AGENT) ?? undefined;
    const r = await rawRequest(t.httpPort, { method: c.method, path: over.path ?? c.path.replaceAll('billing-agent', AGENT), headers, ...(body === undefined ? {} : { body }) });
    return { status: r.status, body: r.body === '' ? undefined : JSON.parse(r.body) };
  }
  const action = (name: string) => ACTIONS.requests.find((r) => r.name === name)!;
  const admin = (method: string, path: string, b?: unknown) => call(t.url(''), method, path, AGENT_KEYS.admin, b);
  const viaEnvoy = (amount: number) => envoy.check({ method: 'POST', path: `/v1/charges/c1?amount=${amount}`, headers: { 'x-agent-id': AGENT } });

  beforeAll(async () => {
    const dir = tempDir('ascend-sdk-flow-');
    t = await startApp(storeConfig(dir, `identity: {sources: [{header: x-agent-id}]}\n${POLICIES}`, SDK_KEY_YAML), { dir });
    envoy = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    envoy.close();
    await t.close();
  });

  it('registers, then is allowed, denied and held for approval', async () => {
    expect((await sdk(REGISTRY.requests.register!)).status).toBe(201);
    const allowed = await sdk(action('evaluate_action 2.5.1 (allowed)'));
    expect(allowed.body).toMatchObject({ decision: 'allowed', execution_allowed: true });
    const denied = await sdk(action('evaluate_action (denied)'));
    expect(denied.body).toMatchObject({ decision: 'denied', policy_violations: ['pol_deny_delete'] });
    const pending = await sdk(action('evaluate_action (pending, waits)'));
    expect(pending.body).toMatchObject({ decision: 'pending', required_approvers: ['finance-manager'], approval_request_id: expect.stringMatching(/^apr_/) });

    // The SDK waits on the status; the approval wakes a long-poll at once.
    const statusPath = `/api/agent-action/status/${pending.body.action_id}`;
    const waiting = sdk(action('get_action_status (wait_for_decision poll, pending)'), { path: `${statusPath}?wait=25` });
    await new Promise((r) => setTimeout(r, 200));
    const vote = await call(t.url(''), 'POST', `/api/approvals/${pending.body.approval_request_id}/approve`, AGENT_KEYS.finance, { comment: 'ok' });
    expect(vote.status).toBe(200);
    expect((await waiting).body).toMatchObject({ decision: 'allowed', initial_decision: 'pending' });

    const done = await sdk(action('log_action_completed'), { path: `/api/agent-action/${pending.body.action_id}/complete`, body: '{"status": "completed", "result": {"ok": true}}' });
    expect(done.body).toMatchObject({ status: 'completed', completion: { status: 'completed' } });
  });

  it('the kill switch denies it at once through the SDK endpoint and through Envoy, until lifted', async () => {
    expect(decisionOf(await viaEnvoy(10))).toBe('allowed'); // cached now
    const block = await admin('POST', `/api/registry/agents/${AGENT}/kill-switch`, { reason: 'runaway loop' });
    expect(block.status).toBeLessThan(300);
    expect(decisionOf(await viaEnvoy(10))).toBe('denied');
    const viaSdk = await sdk(action('evaluate_action 2.5.1 (allowed)'));
    expect(viaSdk.body).toMatchObject({ decision: 'denied', code: 'agent_blocked', execution_allowed: false });
    const poll = await sdk(REGISTRY.requests.kill_switch_status!);
    expect(poll.body).toMatchObject({ active: true, reason: 'runaway loop' });

    expect((await admin('DELETE', `/api/registry/agents/${AGENT}/kill-switch`)).status).toBeLessThan(300);
    expect(decisionOf(await viaEnvoy(10))).toBe('allowed');
    expect((await sdk(action('evaluate_action 2.5.1 (allowed)'))).body.decision).toBe('allowed');
  });

  it('query_audit_log: the decisions and the block, in the SDK\'s shape', async () => {
    const viewer = action('query_audit_log');
    const headers = Object.fromEntries(Object.entries(viewer.headers).map(([k, v]) => [k, v.replace('{api_key}', AGENT_KEYS.admin)]));
    const read = async () => JSON.parse((await rawRequest(t.httpPort, { method: 'GET', path: '/audit/logs?limit=50&offset=0', headers })).body);
    // Decision rows are flushed in batches (~100 ms): read until the trail holds the lift and has
    // stopped growing, so the paging below compares like with like.
    let log = await read();
    for (let i = 0, last = -1; i < 100 && !(log.total === last && log.events.some((e: { event_type: string }) => e.event_type === 'agent.unblocked')); i++) {
      last = log.total;
      await new Promise((r) => setTimeout(r, 150));
      log = await read();
    }
    expect(log).toMatchObject({ total: expect.any(Number), page: 1, page_size: 50 });
    const types = new Set(log.events.map((e: { event_type: string }) => e.event_type));
    expect([...types].sort()).toEqual(['action.decided', 'agent.blocked', 'agent.unblocked']);
    for (const e of log.events) {
      expect(e).toMatchObject({ event_id: expect.any(String), timestamp: expect.any(String), resource: expect.any(String), action: expect.any(String), outcome: expect.stringMatching(/^(allowed|denied|pending)$/), details: expect.any(Object) });
    }
    expect(log.events.find((e: { event_type: string }) => e.event_type === 'agent.blocked')).toMatchObject({ actor: 'ops', outcome: 'denied' });
    const second = JSON.parse((await rawRequest(t.httpPort, { method: 'GET', path: '/audit/logs?limit=2&offset=2', headers })).body);
    expect(second.events.map((e: { event_id: string }) => e.event_id)).toEqual(log.events.slice(2, 4).map((e: { event_id: string }) => e.event_id));
    expect((await rawRequest(t.httpPort, { method: 'GET', path: '/audit/logs', headers: { 'x-api-key': SDK_KEY } })).status).toBe(403);
  });
});
