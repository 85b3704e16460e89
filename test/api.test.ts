/**
 * The REST API over real HTTP to the real server, with a real SQLite file in a temp dir:
 * every endpoint, the role matrix, bad bodies and unknown ids, the OpenAPI document, and keys
 * never reaching a log line.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { API_KEYS_YAML, call, KEYS, storeConfig } from './helpers/api.js';
import { rawRequest } from './helpers/http.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const dir = tempDir('ascend-api-');
const refund = (amount: number, id = 'r-1') => ({ agent_id: 'billing-agent', action_type: 'payments.refund', resource: `refund/${id}`, parameters: { amount } });

let t: TestApp;
let api: <T = any>(method: string, path: string, key?: string, body?: unknown) => ReturnType<typeof call<T>>;
beforeAll(async () => {
  t = await startApp(storeConfig(dir, CORE, 'api: {batch_max: 3}'), { dir });
  api = (method, path, key, body) => call(t.url(''), method, path, key, body);
});
afterAll(() => t.close());

describe('authentication and roles', () => {
  type Row = [string, string, unknown, readonly (keyof typeof KEYS)[]];
  const ok: Row[] = [
    ['POST', '/api/authorization/agent-action', refund(10, 'm'), ['admin', 'billing']],
    ['POST', '/api/authorization/agent-actions/batch', { actions: [refund(10, 'm')] }, ['admin', 'billing']],
    ['POST', '/api/v1/actions/submit', { agent_id: 'billing-agent', action_type: 'payments.refund', resource: 'refund/m', action_details: { amount: 10 } }, ['admin', 'billing', 'gateway']],
    ['GET', '/api/agent-action/status/act_unknown', undefined, ['admin', 'finance', 'billing', 'viewer', 'gateway']],
    ['GET', '/api/v1/bundles/default', undefined, ['admin', 'gateway']],
    ['POST', '/api/agent-action/act_unknown/complete', { status: 'success' }, ['admin', 'billing']],
    ['GET', '/api/sdk/approval/apr_unknown', undefined, ['admin', 'finance', 'billing', 'viewer', 'gateway']],
    ['GET', '/api/agents/health/billing-agent', undefined, ['admin', 'finance', 'billing', 'viewer']],
    ['GET', '/api/deployment-info', undefined, ['admin', 'finance', 'billing', 'viewer']],
    ['GET', '/api/ab-tests', undefined, ['admin', 'finance', 'billing', 'viewer']],
    ['GET', '/api/smart-rules/suggestions', undefined, ['admin', 'viewer']],
    ['GET', '/api/ab-tests/nope/results', undefined, ['admin', 'finance', 'billing', 'viewer']],
    ['POST', '/api/ab-tests', { name: 'x', control_policy: 'pol_nope', test_policy: 'pol_admin_deny', traffic_split: 5, duration_days: 1 }, ['admin']],
    ['GET', '/api/approvals?status=pending', undefined, ['admin', 'finance', 'viewer']],
    ['POST', '/api/approvals/apr_unknown/approve', { comment: 'x' }, ['admin', 'finance']],
    ['POST', '/api/approvals/apr_unknown/deny', { comment: 'x' }, ['admin', 'finance']],
    ['GET', '/api/audit', undefined, ['admin', 'viewer']],
    ['GET', '/api/webhooks/dead-letters', undefined, ['admin', 'viewer']],
    ['POST', '/api/webhooks/dead-letters/999/requeue', undefined, ['admin']],
    ['GET', '/api/webhooks', undefined, ['admin']],
    ['POST', '/api/webhooks/configure', { url: 'https://127.0.0.1/h', events: ['action.pending'] }, ['admin']],
    ['PUT', '/api/webhooks/wh_999', {}, ['admin']],
    ['DELETE', '/api/webhooks/wh_999', undefined, ['admin']],
    ['POST', '/api/webhooks/wh_999/test', undefined, ['admin']],
  ];
  const roles = ['admin', 'finance', 'billing', 'viewer', 'gateway'] as const;

  it.each(ok)('%s %s: 401 without or with an unknown key, 403 for other roles', async (method, path, body, allowed) => {
    for (const key of [undefined, 'not-a-key', '']) {
      const r = await api(method, path, key, body);
      expect(r.status, `key ${key}`).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
    }
    for (const role of roles) {
      const r = await api(method, path, KEYS[role], body);
      if (allowed.includes(role)) expect([401, 403], `${role}: ${JSON.stringify(r.body)}`).not.toContain(r.status);
      else expect([r.status, r.body.error.code], role).toEqual([403, 'forbidden']);
    }
  });

  it('takes the key as Authorization: Bearer too (the SDK sends both), and refuses two different keys', async () => {
    const get = (headers: Record<string, string>) => fetch(t.url('/api/audit'), { headers });
    expect((await get({ authorization: `Bearer ${KEYS.viewer}` })).status).toBe(200);
    expect((await get({ authorization: `bearer  ${KEYS.viewer}` })).status).toBe(200);
    expect((await get({ authorization: `Bearer ${KEYS.viewer}`, 'x-api-key': KEYS.viewer })).status).toBe(200);
    expect((await get({ authorization: `Bearer ${KEYS.admin}`, 'x-api-key': KEYS.viewer })).status).toBe(401);
    expect((await get({ authorization: `Basic ${KEYS.viewer}` })).status).toBe(401);
    const forbidden = await fetch(t.url('/api/audit'), { headers: { authorization: `Bearer ${KEYS.billing}` } });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: { code: 'forbidden' }, detail: expect.stringContaining('may not call this'), policy_violations: [] });
  });

  it('errors carry the SDK\'s detail and, for a bad field, errors', async () => {
    const r = await api('POST', '/api/authorization/agent-action', KEYS.admin, { action_type: 'x', resource: 'y', agent_id: 'a', parameters: 5 });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { code: 'invalid_request', field: 'parameters' }, detail: r.body.error.message, errors: { parameters: r.body.error.message } });
  });

  it('an empty body labelled application/json is no body (the SDK sends that on bodiless POSTs)', async () => {
    const r = await fetch(t.url('/api/approvals/apr_unknown/approve'), { method: 'POST', headers: { 'x-api-key': KEYS.admin, 'content-type': 'application/json' } });
    expect([r.status, ((await r.json()) as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
  });

  it('answers unknown ids with 404 and unknown routes with a JSON 404', async () => {
    for (const [method, path, body] of ok.filter(([, p]) => p.includes('unknown') || p.includes('999'))) {
      const r = await api(method, path, KEYS.admin, body);
      expect([r.status, r.body.error.code], path).toEqual([404, 'not_found']);
    }
    expect((await api('GET', '/api/nope', KEYS.admin)).body).toEqual({ error: { code: 'route_not_found', message: 'no route GET /api/nope' }, detail: 'no route GET /api/nope' });
    expect((await api('GET', '/api/nope')).status).toBe(401);
  });

  it('keeps health, readiness and metrics outside the keys', async () => {
    for (const p of ['/healthz', '/readyz', '/metrics', '/api/docs', '/api/docs/ui']) expect((await fetch(t.url(p))).status, p).toBe(200);
  });

  it('is closed by default: without api_keys every API request is 401', async () => {
    const closed = await startApp(CORE);
    try {
      for (const key of [undefined, KEYS.admin]) {
        expect((await call(closed.url(''), 'GET', '/api/audit', key)).status).toBe(401);
        expect((await call(closed.url(''), 'POST', '/api/authorization/agent-action', key, refund(1))).status).toBe(401);
      }
    } finally {
      await closed.close();
    }
  });
});

describe('POST /api/authorization/agent-action', () => {
  it('decides through the same engine: allowed, denied, pending', async () => {
    const allowed = await api('POST', '/api/authorization/agent-action', KEYS.admin, refund(10, 'a1'));
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ decision: 'allowed', policy_id: 'pol_refund_small', code: 'policy_allow', risk_score: expect.any(Number) });
    expect(allowed.body.action_id).toMatch(/^[0-9a-f-]{36}$/);
    const denied = await api('POST', '/api/authorization/agent-action', KEYS.admin, { agent_id: 'crawler', action_type: 'admin.access', resource: '/admin/x' });
    expect(denied.body).toMatchObject({ decision: 'denied', policy_id: 'pol_admin_deny', code: 'policy_deny' });
    const pending = await api('POST', '/api/authorization/agent-action', KEYS.admin, refund(5000, 'a2'));
    expect(pending.body).toMatchObject({ decision: 'pending', policy_id: 'pol_refund_large', retry_after: 30 });
    expect(pending.body.status_url).toBe(`/api/sdk/approval/${pending.body.approval_id}`);
    const line = t.decisions().find((l) => l.action_id === pending.body.action_id);
    expect(line).toMatchObject({ adapter: 'api', decision: 'pending', approval_id: pending.body.approval_id });
    const metrics = await (await fetch(t.url('/metrics'))).text();
    expect(metrics).toMatch(/ascend_authz_decisions_total\{adapter="api",decision="pending"\} [1-9]/);
    // The cache serves the API like the gateways: the same allowed action again is a hit.
    const hit = await api('POST', '/api/authorization/agent-action', KEYS.admin, refund(10, 'a1'));
    expect(t.decisions().find((l) => l.action_id === hit.body.action_id)?.cache_hit).toBe(true);
  });

  it('stores API actions: status works, and context.gateway is the sidecar\'s', async () => {
    const r = await api('POST', '/api/authorization/agent-action', KEYS.billing, { ...refund(10, 'a3'), agent_id: undefined, context: { gateway: { adapter: 'envoy' }, ticket: 'T-1' } });
    expect(r.body.decision).toBe('allowed');
    const s = await api('GET', `/api/agent-action/status/${r.body.action_id}`, KEYS.billing);
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({
      action_id: r.body.action_id, agent_id: 'billing-agent', decision: 'allowed', status: 'approved', approval_id: null,
      context: { ticket: 'T-1', gateway: { adapter: 'api', api_key: 'billing' } }, completion: null,
    });
  });

  it('answers status for gateway decisions that needed no approval from the audit trail', async () => {
    const r = await rawRequest(t.httpPort, { path: '/forward-auth', headers: { 'x-original-uri': '/v1/orders/o-7', 'x-original-method': 'GET', 'x-agent-id': 'crawler' } });
    const id = r.headers['x-ascend-action-id'] as string;
    const s = await waitFor(async () => {
      const x = await api('GET', `/api/agent-action/status/${id}`, KEYS.viewer);
      return x.status === 200 && x.body;
    }, { what: 'audit row of the gateway decision' });
    expect(s).toMatchObject({ action_id: id, agent_id: 'crawler', action_type: 'orders.read', decision: 'allowed', status: 'approved', source: 'audit', adapter: 'forward_auth' });
    expect((await api('GET', `/api/agent-action/status/${id}`, KEYS.billing)).status).toBe(403);
    expect((await api('GET', `/api/audit?action_id=${id}`, KEYS.viewer)).body.items).toHaveLength(1);
  });

  it('binds agent keys to their agent', async () => {
    const r = await api('POST', '/api/authorization/agent-action', KEYS.billing, { ...refund(10), agent_id: 'crawler' });
    expect([r.status, r.body.error.code]).toEqual([403, 'agent_mismatch']);
    const b = await api('POST', '/api/authorization/agent-actions/batch', KEYS.billing, { actions: [refund(1), { ...refund(1), agent_id: 'crawler' }] });
    expect([b.status, b.body.error.code]).toEqual([403, 'agent_mismatch']);
    const own = await api('POST', '/api/authorization/agent-action', KEYS.admin, { agent_id: 'crawler', action_type: 'orders.read', resource: 'orders' });
    expect((await api('GET', `/api/agent-action/status/${own.body.action_id}`, KEYS.billing)).status).toBe(403);
  });

  it.each([
    [{ action_type: 'x' }, 'resource'],
    [{ agent_id: 5, action_type: 'x', resource: 'y' }, 'agent_id'],
    [{ agent_id: 'bad id!', action_type: 'x', resource: 'y' }, 'agent_id'],
    [{ agent_id: 'a', action_type: '', resource: 'y' }, 'action_type'],
    [{ agent_id: 'a', action_type: 'x', resource: 'y', parameters: 'no' }, 'parameters'],
    [{ action_type: 'x', resource: 'y' }, 'agent_id'],
  ])('400 naming the field for %j', async (body, field) => {
    const r = await api('POST', '/api/authorization/agent-action', KEYS.admin, body);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', field });
    expect(r.body.error.message).toContain(field);
  });

  it('400 for a body that is not JSON', async () => {
    const r = await api('POST', '/api/authorization/agent-action', KEYS.admin, '{"agent_id":');
    expect([r.status, r.body.error.code]).toEqual([400, 'invalid_json']);
  });
});

describe('POST /api/authorization/agent-actions/batch', () => {
  it('answers one decision per action, in order', async () => {
    const r = await api('POST', '/api/authorization/agent-actions/batch', KEYS.admin, {
      actions: [refund(10, 'b1'), { agent_id: 'crawler', action_type: 'admin.access', resource: '/admin' }, refund(9000, 'b3')],
    });
    expect(r.status).toBe(200);
    expect(r.body.results.map((x: { decision: string }) => x.decision)).toEqual(['allowed', 'denied', 'pending']);
    expect(new Set(r.body.results.map((x: { action_id: string }) => x.action_id)).size).toBe(3);
  });

  it('refuses more than api.batch_max and names bad items', async () => {
    const big = await api('POST', '/api/authorization/agent-actions/batch', KEYS.admin, { actions: [refund(1), refund(2), refund(3), refund(4)] });
    expect([big.status, big.body.error.code, big.body.error.field]).toEqual([400, 'batch_too_large', 'actions']);
    const bad = await api('POST', '/api/authorization/agent-actions/batch', KEYS.admin, { actions: [refund(1), { agent_id: 'a', resource: 'r' }] });
    expect([bad.status, bad.body.error.field]).toEqual([400, 'actions[1].action_type']);
    expect((await api('POST', '/api/authorization/agent-actions/batch', KEYS.admin, { actions: [] })).body.error.field).toBe('actions');
  });
});

describe('approvals through the API', () => {
  it('pending → listed → wrong group refused → approved → the retry is allowed → completed', async () => {
    const p = (await api('POST', '/api/authorization/agent-action', KEYS.billing, refund(2500, 'c1'))).body;
    const sdk = await api('GET', `/api/sdk/approval/${p.approval_id}`, KEYS.billing);
    expect(sdk.body).toMatchObject({ approval_id: p.approval_id, action_id: p.action_id, status: 'pending', approvers: ['finance-manager'], required: 1, step: 1, steps: 1 });
    const list = await api('GET', '/api/approvals?status=pending&limit=200', KEYS.finance);
    expect(list.body.items.map((a: { approval_id: string }) => a.approval_id)).toContain(p.approval_id);

    const wrong = await api('POST', `/api/approvals/${p.approval_id}/approve`, KEYS.lead, {});
    expect([wrong.status, wrong.body.error.code]).toEqual([403, 'not_an_approver']);
    const yes = await api('POST', `/api/approvals/${p.approval_id}/approve`, KEYS.finance);
    expect(yes.status).toBe(200);
    expect(yes.body).toMatchObject({ status: 'approved', votes: [{ approver: 'fred', vote: 'approve', comment: null }] });
    const again = await api('POST', `/api/approvals/${p.approval_id}/deny`, KEYS.finance2, { comment: 'late' });
    expect([again.status, again.body.error.code]).toEqual([409, 'not_pending']);

    const retry = (await api('POST', '/api/authorization/agent-action', KEYS.billing, refund(2500, 'c1'))).body;
    expect(retry).toMatchObject({ decision: 'allowed', code: 'approval_granted', action_id: p.action_id, approval_id: p.approval_id, reason: 'approved by fred' });
    const status = await api('GET', `/api/agent-action/status/${p.action_id}`, KEYS.viewer);
    expect(status.body).toMatchObject({ status: 'approved', approval: { status: 'approved', status_url: `/api/sdk/approval/${p.approval_id}` } });

    const done = await api('POST', `/api/agent-action/${p.action_id}/complete`, KEYS.billing, { status: 'success', result: { refund_id: 're_1' } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'completed', completion: { status: 'success', result: { refund_id: 're_1' } } });
    expect((await api('POST', `/api/agent-action/${p.action_id}/complete`, KEYS.billing, { status: 'success' })).status).toBe(200);
    expect(t.logs.some((l) => l.msg === 'action completed' && l.action_id === p.action_id)).toBe(true);
  });

  it('a denial answers the retry with the approver\'s comment; pending actions cannot be completed', async () => {
    const p = (await api('POST', '/api/authorization/agent-action', KEYS.admin, refund(3000, 'c2'))).body;
    const c = await api('POST', `/api/agent-action/${p.action_id}/complete`, KEYS.admin, { status: 'success' });
    expect([c.status, c.body.error.code]).toEqual([409, 'invalid_state']);
    const no = await api('POST', `/api/approvals/${p.approval_id}/deny`, KEYS.finance2, { comment: 'not in this quarter' });
    expect(no.body).toMatchObject({ status: 'denied', reason: 'not in this quarter' });
    const retry = (await api('POST', '/api/authorization/agent-action', KEYS.admin, refund(3000, 'c2'))).body;
    expect(retry).toMatchObject({ decision: 'denied', code: 'approval_denied', reason: 'not in this quarter', approval_id: p.approval_id });
  });

  it('validates bodies and queries of the approval routes', async () => {
    const q = await api('GET', '/api/approvals?status=bogus', KEYS.admin);
    expect([q.status, q.body.error.field]).toEqual([400, 'status']);
    const v = await api('POST', '/api/approvals/apr_x/approve', KEYS.admin, { comment: 5 });
    expect([v.status, v.body.error.field]).toEqual([400, 'comment']);
    const c = await api('POST', '/api/agent-action/act_x/complete', KEYS.admin, { result: 1 });
    expect([c.status, c.body.error.field]).toEqual([400, 'status']);
    const cur = await api('GET', '/api/approvals?cursor=garbage', KEYS.admin);
    expect([cur.status, cur.body.error.code]).toEqual([400, 'invalid_cursor']);
  });
});

describe('GET /api/audit', () => {
  it('pages the decision trail and filters by agent, decision and time', async () => {
    const from = Date.now();
    const mine = [];
    for (const id of ['d1', 'd2', 'd3']) mine.push((await api('POST', '/api/authorization/agent-action', KEYS.admin, { agent_id: 'audit-bot', action_type: 'orders.read', resource: id })).body.action_id);
    const rows = await waitFor(async () => {
      const r = await api('GET', `/api/audit?agent_id=audit-bot&decision=allowed&since=${new Date(from).toISOString()}`, KEYS.viewer);
      return r.body.items.length === 3 && r.body.items;
    }, { what: 'audit rows flushed' });
    expect(rows.map((r: { action_id: string }) => r.action_id)).toEqual([...mine].reverse());
    expect(rows[0]).toMatchObject({ adapter: 'api', agent_id: 'audit-bot', action_type: 'orders.read', decision: 'allowed', cache_hit: false, time: expect.any(String) });

    const p1 = await api('GET', '/api/audit?agent_id=audit-bot&limit=2', KEYS.viewer);
    expect(p1.body.items).toHaveLength(2);
    const p2 = await api('GET', `/api/audit?agent_id=audit-bot&limit=2&cursor=${p1.body.next_cursor}`, KEYS.viewer);
    expect(p2.body.items.map((r: { action_id: string }) => r.action_id)).toEqual([mine[0]]);
    expect(p2.body.next_cursor).toBeUndefined();
    expect((await api('GET', `/api/audit?agent_id=audit-bot&until=${from}`, KEYS.viewer)).body.items).toEqual([]);
    expect((await api('GET', '/api/audit?agent_id=audit-bot&decision=denied', KEYS.viewer)).body.items).toEqual([]);
    const bad = await api('GET', '/api/audit?since=yesterday', KEYS.viewer);
    expect([bad.status, bad.body.error.field]).toEqual([400, 'since']);
    expect((await api('GET', '/api/audit?limit=0', KEYS.viewer)).body.error.field).toBe('limit');
  });
});

describe('GET /api/docs', () => {
  it('is an OpenAPI 3 document of every API route, from the validating schemas', async () => {
    const r = await api('GET', '/api/docs'); // no key: the document holds no secret
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(routes.sort()).toEqual([
      'GET /api/agent-action/status/{action_id}', 'GET /api/agent-activity', 'GET /api/approvals', 'GET /api/audit',
      'GET /api/deployment-info', 'GET /api/docs', 'GET /api/sdk/approval/{approval_id}', 'GET /api/v1/actions/{action_id}',
      'GET /api/v1/actions/{action_id}/status', 'GET /api/v1/bundles/{name}', 'GET /api/v1/resource-classifications', 'GET /api/webhooks', 'GET /api/webhooks/dead-letters', 'GET /health',
      'POST /api/agent-action/{action_id}/complete', 'POST /api/agent-action/{action_id}/fail',
      'POST /api/approvals/{approval_id}/approve', 'POST /api/approvals/{approval_id}/deny', 'POST /api/authorization/agent-action',
      'POST /api/authorization/agent-actions/batch', 'POST /api/governance/policies/evaluate-realtime',
      'POST /api/v1/actions/submit', 'POST /api/v1/mcp/actions/submit', 'POST /api/webhooks/configure', 'POST /api/webhooks/dead-letters/{id}/requeue',
      'POST /api/webhooks/{webhook_id}/test', 'DELETE /api/webhooks/{webhook_id}', 'PUT /api/webhooks/{webhook_id}',
      'DELETE /api/registry/agents/{agent_id}', 'GET /api/agents/health/{agent_id}', 'GET /api/registry/agents',
      'GET /api/registry/agents/{agent_id}', 'POST /api/agents/health/heartbeat', 'POST /api/registry/agents',
      'PUT /api/registry/agents/{agent_id}', 'POST /api/registry/agents/{agent_id}/kill-switch',
      'DELETE /api/registry/agents/{agent_id}/kill-switch', 'GET /api/sdk/kill-switch/status',
      'GET /api/registry/agents/{agent_id}/commands', 'POST /api/registry/agents/{agent_id}/commands/{command_id}/ack',
      'GET /audit/logs', 'POST /api/ab-tests', 'GET /api/ab-tests', 'GET /api/ab-tests/{id}/results', 'GET /api/smart-rules/suggestions',
    ].sort());
    const body = doc.paths['/api/authorization/agent-action'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['action_type', 'resource']);
    expect(body.properties.agent_id.pattern).toBeDefined();
    expect(doc.components.securitySchemes.apiKey).toEqual({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(JSON.stringify(doc)).not.toContain('/healthz');
  });

  it('lists every operation\'s real error answers: each status with its stable codes, never "Default Response"', async () => {
    const doc = (await api('GET', '/api/docs')).body;
    const ops = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([p, m]) => Object.entries(m).map(([verb, op]) => [`${verb.toUpperCase()} ${p}`, op] as const));
    for (const [name, op] of ops) {
      for (const [status, res] of Object.entries(op.responses as Record<string, any>)) {
        expect(res.description, `${name} ${status}`).not.toBe('Default Response');
        if (Number(status) < 400) continue;
        const schema = res.content['application/json'].schema;
        const codes = (schema.anyOf ?? [schema]).flatMap((s: any) => s.properties?.error?.properties?.code?.enum ?? []);
        expect(codes.length, `${name} ${status}`).toBeGreaterThan(0);
        for (const c of codes) expect(res.description, `${name} ${status}`).toContain(`\`${c}\``);
      }
    }
    const vote = doc.paths['/api/approvals/{approval_id}/approve'].post.responses;
    expect(vote['403'].content['application/json'].schema.properties.error.properties.code.enum).toEqual(['plaintext_not_allowed', 'forbidden', 'not_an_approver', 'self_approval']);
    expect(vote['409'].content['application/json'].schema.properties.error.properties.code.enum).toEqual(['not_pending', 'already_voted']);
  });

  it('has a browsable UI at /api/docs/ui, served from the package (no CDN)', async () => {
    const page = await fetch(t.url('/api/docs/ui/'), { redirect: 'follow' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/swagger/i);
    expect(html).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs)/);
    const spec = await fetch(t.url('/api/docs/ui/json'));
    expect(((await spec.json()) as { openapi: string }).openapi).toMatch(/^3\./);
  });
});

describe('keys never reach the logs', () => {
  it('no log line holds any key', () => {
    expect(t.logs.length).toBeGreaterThan(10);
    const text = JSON.stringify(t.logs);
    for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
  });

  it('lines about a key\'s request name the key (its configured name), never [REDACTED]', () => {
    const refused = t.logs.filter((l) => l.msg === 'api request refused');
    expect(refused.length).toBeGreaterThan(0);
    for (const l of refused) expect(l).toMatchObject({ api_key: expect.stringMatching(/^(ops|fred|fiona|lee|carla|billing|audit|edge)$/), code: expect.any(String) });
    expect(JSON.stringify(refused)).not.toContain('[REDACTED]');
  });
});

describe('without a store', () => {
  it('evaluates through the API as the gateways do (derived approval id) and says what needs the store', async () => {
    const s = await startApp(`${API_KEYS_YAML}\n${CORE}`);
    try {
      const r = await call(s.url(''), 'POST', '/api/authorization/agent-action', KEYS.admin, refund(5000));
      expect(r.body).toMatchObject({ decision: 'pending', status_url: `/api/sdk/approval/${r.body.approval_id}` });
      expect(r.body.approval_id).toMatch(/^apr_[0-9a-f]{24}$/);
      const st = await call(s.url(''), 'GET', `/api/agent-action/status/${r.body.action_id}`, KEYS.admin);
      expect([st.status, st.body.error.code]).toEqual([501, 'store_not_configured']);
      expect(s.app.approvals).toBeUndefined();
    } finally {
      await s.close();
    }
  });
});
