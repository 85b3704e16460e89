/**
 * An approval covers exactly what was approved (SECURITY.md "Approvals cover one decision"):
 * real gRPC checks against a real SQLite store, votes over the REST API. Each case approves one
 * request and retries a different one that the old grant key (agent, type, resource,
 * parameters) took for the same: it must be decided afresh, by its own policy and approvers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { AuthzClient, decisionOf, header, type CheckResponse } from './helpers/grpc-client.js';
import { tempDir } from './helpers/tmp.js';

const POLICIES = `
identity: {sources: [{header: x-agent-id}]}
agents: [{id: dba-agent, type: supervised}, {id: billing-agent, type: supervised}]
approvals: {grant: ttl, ttl_seconds: 600}
workflows:
  prod-drop:
    steps:
      - {approvers: [cfo], required: 1, timeout_hours: 2}
      - {approvers: [finance-manager], required: 2, timeout_hours: 8}
routes:
  - match: {hosts: ["db.staging.internal"], path: "/v1/db/{name}"}
    action_type: db.drop
    resource: "db/{name}"
    context: {environment: staging}
  - match: {hosts: ["db.prod.internal"], path: "/v1/db/{name}"}
    action_type: db.drop
    resource: "db/{name}"
    context: {environment: production}
  - match: {path: "/v1/files/{id}"}
    action_type: files.write
    resource: "file/{id}"
  - match: {methods: [POST], path: "/v1/transfers"}
    action_type: payments.transfer
    resource: transfers
policies:
  - {id: pol_drop_staging, priority: 50, action: require_approval, approvers: [team-lead],
     conditions: {action_type: db.drop, context.environment: staging}}
  - {id: pol_drop_prod, priority: 60, action: require_approval, workflow: prod-drop,
     conditions: {action_type: db.drop, context.environment: production}}
  - {id: pol_files, priority: 10, action: require_approval, approvers: [team-lead],
     conditions: {action_type: files.write}}
  - {id: pol_transfer_large, priority: 20, action: require_approval, approvers: [finance-manager],
     conditions: {action_type: payments.transfer, request.query.amount: {gt: 1000}}}
  - {id: pol_transfer_small, priority: 10, action: allow, conditions: {action_type: payments.transfer}}
`;

const dir = tempDir('ascend-grants-');

describe('grants bound to the decision', () => {
  let t: TestApp;
  let c: AuthzClient;
  let config: string;
  const api = (method: string, path: string, key?: string, b?: unknown) => call(t.url(''), method, path, key, b);
  const ids = (r: CheckResponse) => ({ action: header(r, 'x-ascend-action-id'), approval: header(r, 'x-ascend-approval-id') });
  const body = (r: CheckResponse) => JSON.parse(r.denied_response?.body ?? '{}') as Record<string, unknown>;
  const as = (agent: string, method: string, host: string, path: string) => ({ method, host, path, headers: { 'x-agent-id': agent } });

  async function approve(approvalId: string, key: string): Promise<void> {
    const res = await api('POST', `/api/approvals/${approvalId}/approve`, key, { comment: 'ok' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  beforeAll(async () => {
    const d = join(dir, 'app');
    mkdirSync(d, { recursive: true });
    config = storeConfig(d, POLICIES);
    t = await startApp(config, { dir: d });
    c = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    c.close();
    await t.close();
  });

  it('a staging approval does not let the same drop through in production', async () => {
    const staging = await c.check(as('dba-agent', 'POST', 'db.staging.internal', '/v1/db/orders'));
    expect(decisionOf(staging)).toBe('pending');
    await approve(ids(staging).approval!, KEYS.lead);
    expect(decisionOf(await c.check(as('dba-agent', 'POST', 'db.staging.internal', '/v1/db/orders')))).toBe('allowed');

    const prod = await c.check(as('dba-agent', 'POST', 'db.prod.internal', '/v1/db/orders'));
    expect(decisionOf(prod)).toBe('pending');
    expect(body(prod).policy_id).toBe('pol_drop_prod');
    expect(ids(prod).approval).not.toBe(ids(staging).approval);
    // Its own approvers are asked: the CFO first, not the team lead who approved staging.
    const view = await api('GET', `/api/sdk/approval/${ids(prod).approval}`, KEYS.admin);
    expect(view.body).toMatchObject({ status: 'pending', approvers: ['cfo'], workflow: 'prod-drop', policy_id: 'pol_drop_prod' });
    const lead = await api('POST', `/api/approvals/${ids(prod).approval}/approve`, KEYS.lead, {});
    expect(lead.status).toBe(403);
  });

  it('while one approval is pending, a request under a stricter policy opens its own', async () => {
    const staging = await c.check(as('dba-agent', 'POST', 'db.staging.internal', '/v1/db/ledger'));
    const prod = await c.check(as('dba-agent', 'POST', 'db.prod.internal', '/v1/db/ledger'));
    expect([decisionOf(staging), decisionOf(prod)]).toEqual(['pending', 'pending']);
    expect(ids(prod).approval).not.toBe(ids(staging).approval);
    // And an identical retry still joins the pending approval it belongs to.
    const again = await c.check(as('dba-agent', 'POST', 'db.prod.internal', '/v1/db/ledger'));
    expect(ids(again)).toEqual(ids(prod));
  });

  it('approving a POST does not let a DELETE through', async () => {
    const post = await c.check(as('dba-agent', 'POST', 'files.internal', '/v1/files/f1'));
    await approve(ids(post).approval!, KEYS.lead);
    expect(decisionOf(await c.check(as('dba-agent', 'POST', 'files.internal', '/v1/files/f1')))).toBe('allowed');
    const del = await c.check(as('dba-agent', 'DELETE', 'files.internal', '/v1/files/f1'));
    expect(decisionOf(del)).toBe('pending');
    expect(ids(del).approval).not.toBe(ids(post).approval);
  });

  it('an amount the route does not map is bound, and shown to the approver', async () => {
    const small = await c.check(as('billing-agent', 'POST', 'pay.internal', '/v1/transfers?amount=1500'));
    expect(decisionOf(small)).toBe('pending');
    const view = await api('GET', `/api/sdk/approval/${ids(small).approval}`, KEYS.admin);
    expect(view.body.binding.values).toMatchObject({ 'request.query.amount': '1500', 'request.method': 'POST' });
    expect(view.body.binding.policy_digest).toMatch(/^[0-9a-f]{32}$/);
    await approve(ids(small).approval!, KEYS.finance);
    expect(decisionOf(await c.check(as('billing-agent', 'POST', 'pay.internal', '/v1/transfers?amount=1500')))).toBe('allowed');
    const huge = await c.check(as('billing-agent', 'POST', 'pay.internal', '/v1/transfers?amount=99999999'));
    expect(decisionOf(huge)).toBe('pending');
    expect(ids(huge).approval).not.toBe(ids(small).approval);
  });

  it('a caller with no identity is denied identity_required, and no approval is created', async () => {
    const before = await api('GET', '/api/approvals?status=pending&limit=200', KEYS.admin);
    const anon = await c.check({ method: 'POST', host: 'files.internal', path: '/v1/files/anon' });
    expect(decisionOf(anon)).toBe('denied');
    expect(body(anon)).toMatchObject({ code: 'identity_required', policy_id: 'pol_files' });
    expect(ids(anon).approval).toBeUndefined();
    const after = await api('GET', '/api/approvals?status=pending&limit=200', KEYS.admin);
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  it('a reload that changes a policy voids its grants; grants of unchanged policies survive', async () => {
    const staging = await c.check(as('dba-agent', 'POST', 'db.staging.internal', '/v1/db/users'));
    await approve(ids(staging).approval!, KEYS.lead);
    const file = await c.check(as('dba-agent', 'PUT', 'files.internal', '/v1/files/f2'));
    await approve(ids(file).approval!, KEYS.lead);

    writeFileSync(t.configPath, config.replace('approvers: [team-lead],\n     conditions: {action_type: db.drop', 'approvers: [team-lead, cfo],\n     conditions: {action_type: db.drop'));
    expect(await t.app.reload('test')).toMatchObject({ result: 'success' });

    const retried = await c.check(as('dba-agent', 'POST', 'db.staging.internal', '/v1/db/users'));
    expect(decisionOf(retried)).toBe('pending');
    expect(ids(retried).approval).not.toBe(ids(staging).approval);
    expect(decisionOf(await c.check(as('dba-agent', 'PUT', 'files.internal', '/v1/files/f2')))).toBe('allowed');
  });
});
