/**
 * The ASCEND SDK's action methods against the sidecar, replaying the exact requests the official
 * Python SDK (2.3.0, and 2.5.1 where it differs) sent on the wire — method, path, headers, body,
 * from test/fixtures/sdk/actions.json — over real HTTP with a real SQLite store, and checking
 * every field the SDK's models read, the way they read them (docs/sdk.md):
 * evaluate_action (allowed, denied, pending), wait_for_decision across an approval (and the
 * ?wait long-poll woken by the approval itself), check_approval, get_action_details,
 * list_actions, log_action_completed / log_action_failed, evaluate_mcp_action,
 * evaluate_policy, get_resource_classification, test_connection.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { fastRoutesOf } from '../src/http/fast-routes.js';
import { comparable, rawRequest } from './helpers/http.js';
import { tempDir } from './helpers/tmp.js';

interface SdkRequest {
  name: string;
  sdk: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | null;
}

const FIXTURES = JSON.parse(readFileSync(new URL('./fixtures/sdk/actions.json', import.meta.url), 'utf8')) as { requests: SdkRequest[] };
const fixture = (name: string): SdkRequest => {
  const f = FIXTURES.requests.find((r) => r.name === name);
  if (!f) throw new Error(`no SDK fixture "${name}"`);
  return f;
};

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const POLICIES = `
identity: {sources: [{header: x-agent-id}]}
agents: [{id: billing-agent, type: supervised, capabilities: [payments]}]
policies:
  - {id: pol_deny_delete, priority: 100, action: deny, conditions: {action_type: "*.delete"}}
  - {id: pol_big, priority: 80, action: require_approval, approvers: [finance-manager],
     conditions: {action_type: payment.create, parameters.amount: {gt: 1000}}}
  - {id: pol_allow, priority: 10, action: allow, conditions: {}}
`;

/** The SDK's AuthorizationDecision.from_dict, as its source reads a response (docs/sdk.md). */
function sdkParse(body: Record<string, unknown>): { decision: 'ALLOWED' | 'DENIED' | 'PENDING'; approvalRequestId: unknown } {
  const raw = 'decision' in body ? body.decision : (body.status ?? 'pending');
  const decision = raw === 'allowed' || raw === 'approved' ? 'ALLOWED' : raw === 'denied' ? 'DENIED' : 'PENDING';
  if (body.risk_level) expect(['low', 'medium', 'high', 'critical']).toContain(body.risk_level); // else the SDK raises ValueError
  expect(typeof body.action_id === 'string' || typeof body.action_id === 'number').toBe(true);
  for (const list of ['policy_violations', 'conditions', 'required_approvers'] as const) {
    expect(Array.isArray(body[list]), list).toBe(true);
    for (const item of body[list] as unknown[]) expect(typeof item, list).toBe('string');
  }
  expect(typeof body.execution_allowed).toBe('boolean');
  expect(body.execution_allowed).toBe(decision === 'ALLOWED');
  expect(typeof body.metadata).toBe('object');
  for (const s of ['reason', 'expires_at', 'approved_by', 'approved_at', 'comments'] as const) {
    if (body[s] !== undefined && body[s] !== null) expect(typeof body[s], s).toBe('string');
  }
  return { decision, approvalRequestId: body.approval_request_id };
}

describe('the ASCEND SDK\'s action methods, replayed', () => {
  let t: TestApp;
  const ids: Record<string, string> = {};
  const fill = (s: string, extra: Record<string, string>) =>
    s.replace(/\{(action_id|approval_id|api_key)\}/g, (_, k: string) => (k === 'api_key' ? KEYS.billing : extra[k] ?? ids[k] ?? `missing-${k}`));

  /** Sends a fixture exactly (its headers, its body bytes), with ids filled in. */
  async function replay(name: string, extra: Record<string, string> = {}, query = ''): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
    const f = fixture(name);
    const headers = Object.fromEntries(Object.entries(f.headers).map(([k, v]) => [k, fill(v, extra)]));
    const res = await rawRequest(t.httpPort, { method: f.method, path: fill(f.path, extra) + query, headers, ...(f.body === null ? {} : { body: fill(f.body, extra) }) });
    return { status: res.status, body: res.body === '' ? undefined : JSON.parse(res.body), headers: res.headers };
  }
  const admin = (method: string, path: string, body?: unknown) => call(t.url(''), method, path, KEYS.admin, body);

  beforeAll(async () => {
    t = await startApp(storeConfig(tempDir('ascend-sdk-actions-'), POLICIES));
  });
  afterAll(() => t.close());

  it('every fixture is a request the SDK sent: its user agent, both key headers, JSON content type', () => {
    expect(FIXTURES.requests.length).toBeGreaterThanOrEqual(15);
    for (const f of FIXTURES.requests) {
      expect(f.headers['user-agent'], f.name).toMatch(/^ascend-sdk\/2\.[35]\.\d Python$/);
      expect(f.headers['x-api-key'], f.name).toBe('{api_key}');
      expect(f.headers.authorization, f.name).toBe('Bearer {api_key}');
      expect(f.headers['content-type'], f.name).toBe('application/json');
    }
  });

  it('test_connection: GET /health (no key needed) and /api/deployment-info', async () => {
    const health = await replay('test_connection /health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('healthy');
    expect((await rawRequest(t.httpPort, { path: '/health' })).status).toBe(200);
    const info = await replay('test_connection /api/deployment-info');
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ version: expect.any(String), environment: 'production', fail_mode: 'closed', features: expect.arrayContaining(['sdk_v1', 'approvals']) });
  });

  it('evaluate_action → pending with an approval to wait for', async () => {
    const r = await replay('evaluate_action (pending, waits)');
    expect(r.status).toBe(200);
    const d = sdkParse(r.body);
    expect(d.decision).toBe('PENDING');
    expect(r.body).toMatchObject({ initial_decision: 'pending', policy_violations: ['pol_big'], required_approvers: ['finance-manager'], risk_level: 'low' });
    expect(d.approvalRequestId).toMatch(/^apr_/);
    // The approval's deadline, in the first answer already (an agent that does not wait reads it there).
    expect(r.body.expires_at).toMatch(ISO);
    ids.action_id = r.body.action_id;
    ids.approval_id = r.body.approval_request_id;
    const poll = await replay('get_action_status (wait_for_decision poll, pending)');
    expect(sdkParse(poll.body).decision).toBe('PENDING');
    expect(poll.body).toMatchObject({ approval_request_id: ids.approval_id, expires_at: r.body.expires_at });
    expect(poll.body.approval.deadline_at).toBe(r.body.expires_at);
  });

  it('wait_for_decision: the status turns allowed once approved, and a waiting long-poll returns at once', async () => {
    const waiting = replay('get_action_status (wait_for_decision poll, pending)', {}, '?wait=25');
    // The long-poll is parked on the watch before the approval lands.
    await new Promise((r) => setTimeout(r, 200));
    const vote = await call(t.url(''), 'POST', `/api/approvals/${ids.approval_id}/approve`, KEYS.finance, { comment: 'fine by fred' });
    expect(vote.status).toBe(200);
    const woken = await waiting;
    expect(sdkParse(woken.body).decision).toBe('ALLOWED');
    const now = await replay('get_action_status (wait_for_decision poll, decided)');
    expect(sdkParse(now.body).decision).toBe('ALLOWED');
    expect(now.body).toMatchObject({ decision: 'allowed', initial_decision: 'pending', approved_by: 'fred', approved_at: expect.any(String), comments: 'fine by fred' });
  });

  it('check_approval: approved, by whom, when', async () => {
    const r = await replay('check_approval');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'approved', approved_by: 'fred', rejected_by: null, decided_at: expect.any(String), rejection_reason: null });
  });

  it('log_action_completed, then get_action_details: status in the SDK\'s vocabulary, completion apart, an audit trail', async () => {
    const done = await replay('log_action_completed');
    expect(done.status).toBe(200);
    const details = await replay('get_action_details');
    expect(details.status).toBe(200);
    expect(details.body).toMatchObject({
      id: ids.action_id, action_id: ids.action_id, agent_id: 'billing-agent', agent_name: 'Billing', action_type: 'payment.create',
      resource: 'stripe:charges', status: 'approved', completion: { status: 'completed', result: { ok: true } },
    });
    expect(['pending', 'approved', 'denied', 'requires_modification', 'timeout', 'auto_approved', 'escalated']).toContain(details.body.status);
    const trail = details.body.audit_trail as { event: string; adapter?: string; timestamp: string }[];
    // Decision rows come from the audit buffer (flushed within ~100 ms), so only their shape is pinned.
    expect(trail.filter((e) => e.event !== 'decision').map((e) => e.event)).toEqual(['action.evaluated', 'approval.vote', 'approval.approved', 'action.completed']);
    for (const e of trail) expect(Date.parse(e.timestamp)).not.toBeNaN();
    for (const e of trail.filter((x) => x.event === 'decision')) expect(e.adapter).toBe('api');
  });

  it('evaluate_action → denied, naming the policy', async () => {
    const r = await replay('evaluate_action (denied)');
    expect(sdkParse(r.body).decision).toBe('DENIED');
    expect(r.body).toMatchObject({ policy_violations: ['pol_deny_delete'], approval_request_id: null, execution_allowed: false });
  });

  it('evaluate_action → allowed (2.5.1), its status on the 2.5.1 path, then log_action_failed', async () => {
    const r = await replay('evaluate_action 2.5.1 (allowed)');
    expect(sdkParse(r.body).decision).toBe('ALLOWED');
    const id = r.body.action_id as string;
    const status = await replay('get_action_status 2.5.1', { action_id: id });
    expect(status.status).toBe(200);
    expect(sdkParse(status.body).decision).toBe('ALLOWED');
    const failed = await replay('log_action_failed', { action_id: id });
    expect(failed.status).toBe(200);
    expect(failed.body.completion).toMatchObject({ status: 'failed', result: { error: { code: 'E1', message: 'boom' }, duration_ms: 7 } });
    const details = await replay('get_action_details', { action_id: id });
    expect(details.body).toMatchObject({ status: 'auto_approved', resource_id: 'row-1', agent_name: 'SDK Driver Agent' });
  });

  it('list_actions: {items, total, limit, offset} of the key\'s own agent', async () => {
    const r = await replay('list_actions');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 3, limit: 5, offset: 0 });
    expect(r.body.items.map((a: { agent_id: string }) => a.agent_id)).toEqual(['billing-agent', 'billing-agent', 'billing-agent']);
  });

  it('evaluate_mcp_action: status, success, requires_approval, action_id, risk_score', async () => {
    const r = await replay('evaluate_mcp_action');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'allowed', success: true, requires_approval: false, action_id: expect.any(String), risk_score: expect.any(Number) });
  });

  it('evaluate_policy: a dry run that stores nothing', async () => {
    const before = (await admin('GET', '/api/agent-activity?limit=200')).body.total;
    const r = await replay('evaluate_policy');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: 'allowed', violations: [], risk_score: expect.any(Number), evaluation_time_ms: expect.any(Number) });
    expect(r.body.matched_policies).toEqual([expect.objectContaining({ id: 'pol_allow', action: 'allow' })]);
    expect((await admin('GET', '/api/agent-activity?limit=200')).body.total).toBe(before);
  });

  it('get_resource_classification: the item whose resource_type is the one asked', async () => {
    const r = await replay('get_resource_classification');
    expect(r.status).toBe(200);
    expect(r.body.classifications.find((c: { resource_type: string }) => c.resource_type === 'customer_db')).toMatchObject({ sensitivity_level: 'low' });
  });

  it('a denial by an approver reads denied now, with the comment; check_approval says rejected', async () => {
    const r = await call(t.url(''), 'POST', '/api/v1/actions/submit', KEYS.billing, { agent_id: 'billing-agent', action_type: 'payment.create', resource: 'stripe:x', action_details: { amount: 9000 } });
    const approvalId = r.body.approval_request_id as string;
    await call(t.url(''), 'POST', `/api/approvals/${approvalId}/deny`, KEYS.finance, { comment: 'too much' });
    const status = await replay('get_action_status (wait_for_decision poll, decided)', { action_id: r.body.action_id });
    expect(sdkParse(status.body).decision).toBe('DENIED');
    expect(status.body).toMatchObject({ initial_decision: 'pending', comments: 'too much', rejected_by: 'fred' });
    const approval = await replay('check_approval', { approval_id: approvalId });
    expect(approval.body).toMatchObject({ status: 'rejected', rejected_by: 'fred', rejection_reason: 'too much', approved_by: null });
  });

  it('keeps orchestration fields on the action; depth outside 0–5 is 422 with the SDK\'s detail', async () => {
    const body = { agent_id: 'billing-agent', action_type: 'query', resource: 'db', orchestration_session_id: 's-1', parent_action_id: 7, orchestration_depth: 2 };
    const ok = await call(t.url(''), 'POST', '/api/v1/actions/submit', KEYS.billing, body);
    const details = await call(t.url(''), 'GET', `/api/v1/actions/${ok.body.action_id}`, KEYS.billing);
    expect(details.body.context.orchestration).toEqual({ session_id: 's-1', parent_action_id: 7, depth: 2 });
    const deep = await call(t.url(''), 'POST', '/api/v1/actions/submit', KEYS.billing, { ...body, orchestration_depth: 6 });
    expect(deep.status).toBe(422);
    expect(deep.body).toMatchObject({ detail: expect.stringContaining('orchestration_depth'), errors: { orchestration_depth: expect.any(String) } });
  });

  it('agent keys act as their own agent: "unknown" (the SDK\'s placeholder) is theirs, another agent is 403 with detail', async () => {
    const mine = await call(t.url(''), 'POST', '/api/v1/actions/submit', KEYS.billing, { agent_id: 'unknown', action_type: 'query', resource: 'db' });
    expect(mine.status).toBe(200);
    expect((await call(t.url(''), 'GET', `/api/v1/actions/${mine.body.action_id}`, KEYS.billing)).body.agent_id).toBe('billing-agent');
    const other = await call(t.url(''), 'POST', '/api/v1/actions/submit', KEYS.billing, { agent_id: 'crawler', action_type: 'query', resource: 'db' });
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ error: { code: 'agent_mismatch' }, detail: expect.stringContaining('billing-agent'), policy_violations: [] });
  });
});

/**
 * The SDK's own submits (the fixtures' exact headers and bytes: both key headers, keep-alive,
 * gzip accepted) are answered on the listener's fast path (src/api/fast-submit.ts), and exactly
 * as fastify answers them (`server.http_fast_path: false`): each decision, a retry of a waiting
 * action (same ids, same deadline) and the retry an approval allows (its grant). Ids and times
 * aside, status, headers and body are byte for byte the same.
 */
describe('the SDK\'s submits: fast path and fastify answer alike', () => {
  const apps: TestApp[] = [];
  const SUBMITS = ['evaluate_action 2.5.1 (allowed)', 'evaluate_action (denied)', 'evaluate_action (pending, waits)'];

  beforeAll(async () => {
    apps.push(await startApp(storeConfig(tempDir('ascend-sdk-fast-'), POLICIES)));
    apps.push(await startApp(storeConfig(tempDir('ascend-sdk-slow-'), `server: {http_fast_path: false}\n${POLICIES}`)));
  });
  afterAll(async () => { for (const a of apps) await a.close(); });

  const send = async (t: TestApp, name: string) => {
    const f = fixture(name);
    const headers = Object.fromEntries(Object.entries(f.headers).map(([k, v]) => [k, v.replaceAll('{api_key}', KEYS.billing)]));
    return rawRequest(t.httpPort, { method: f.method, path: f.path, headers, body: f.body! });
  };
  const same = (r: Awaited<ReturnType<typeof send>>) => {
    const c = comparable(r);
    return { ...c, body: c.body.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, '<time>') };
  };
  /** Sends the fixture to both; returns their answers (fast, fastify). */
  async function both(name: string): Promise<any[]> {
    const [fast, slow] = apps as [TestApp, TestApp];
    const served = fastRoutesOf(fast.app.http)!.served;
    const a = await send(fast, name);
    const b = await send(slow, name);
    expect(fastRoutesOf(fast.app.http)!.served - served, `${name}: on the fast path`).toBe(1);
    expect(fastRoutesOf(slow.app.http)?.served ?? 0).toBe(0);
    expect(same(a), name).toEqual(same(b));
    return [JSON.parse(a.body), JSON.parse(b.body)];
  }

  it('allowed, denied, pending; a retry while waiting; the retry the approval allows', async () => {
    for (const name of SUBMITS) sdkParse((await both(name))[0]);
    const pending = await both('evaluate_action (pending, waits)');
    for (const [i, t] of apps.entries()) {
      expect(pending[i]).toMatchObject({ decision: 'pending', expires_at: expect.stringMatching(ISO) });
      expect((await call(t.url(''), 'POST', `/api/approvals/${pending[i].approval_request_id}/approve`, KEYS.finance, { comment: 'ok' })).status).toBe(200);
    }
    const granted = await both('evaluate_action (pending, waits)');
    expect(sdkParse(granted[0]).decision).toBe('ALLOWED');
    // As the status answers it: who approved, when, with what comment.
    expect(granted[0]).toMatchObject({ code: 'approval_granted', approval_request_id: pending[0].approval_request_id, approved_by: 'fred', approved_at: expect.stringMatching(ISO), comments: 'ok' });
  });
});
