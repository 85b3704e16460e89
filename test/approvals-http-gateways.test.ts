/**
 * Approvals through the HTTP gateways (Kong plugin, forward-auth) with a store: the
 * pending answer carries x-ascend-approval-id and x-ascend-status-url, and the retry after an
 * approval over the REST API is allowed with the original ids — the same semantics as Envoy.
 * Kong completions reach the SIEM stream like REST ones, with and without a store.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { postJson, rawRequest } from './helpers/http.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const CASES = JSON.parse(readFileSync(new URL('./fixtures/kong/plugin-requests.json', import.meta.url), 'utf8')) as { expected_request: Record<string, any>; expected_decision: string }[];
const dir = tempDir('ascend-httpgw-');

const SIEM = join(dir, 'siem.jsonl');
const siemLines = (path = SIEM) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);
const completedLines = (path = SIEM) => siemLines(path).filter((l) => l.type === 'action.completed');

let t: TestApp;
beforeAll(async () => {
  t = await startApp(storeConfig(dir, CORE, `api: {public_url: "https://ascend.example.com"}\naudit_stream: {enabled: true, path: ${JSON.stringify(SIEM)}}`), { dir });
});
afterAll(() => t.close());
const approve = (id: string) => call(t.url(''), 'POST', `/api/approvals/${id}/approve`, KEYS.finance, {});

describe('approvals through the HTTP gateways', () => {
  it('forward-auth: pending with status URL → approve → allowed once with the original ids', async () => {
    const req = { path: '/forward-auth', headers: { 'x-original-uri': '/v1/refunds/fa-1?amount=5000', 'x-original-method': 'POST', 'x-original-host': 'api.example.com', 'x-agent-id': 'billing-agent' } };
    const p = await rawRequest(t.httpPort, req);
    expect(p.status).toBe(403);
    expect(p.headers['x-ascend-decision']).toBe('pending');
    const id = p.headers['x-ascend-approval-id'] as string;
    expect(p.headers['x-ascend-status-url']).toBe(`https://ascend.example.com/api/sdk/approval/${id}`);
    expect(JSON.parse(p.body)).toMatchObject({ approval_id: id, status_url: `https://ascend.example.com/api/sdk/approval/${id}` });
    expect((await approve(id)).body.status).toBe('approved');
    const ok = await rawRequest(t.httpPort, req);
    expect([ok.status, ok.headers['x-ascend-decision'], ok.headers['x-ascend-action-id']]).toEqual([200, 'allowed', p.headers['x-ascend-action-id']]);
    expect((await rawRequest(t.httpPort, req)).headers['x-ascend-decision']).toBe('pending');
  });

  it('Kong plugin: the same, in the plugin answer', async () => {
    const request = CASES.find((c) => c.expected_decision === 'pending')!.expected_request;
    const p = (await postJson(t.url('/kong/v1/authorize'), request)).json;
    expect(p).toMatchObject({ allow: false, decision: 'pending' });
    expect(p.client_headers['x-ascend-status-url']).toBe(`https://ascend.example.com/api/sdk/approval/${p.approval_id}`);
    await approve(p.approval_id);
    const ok = (await postJson(t.url('/kong/v1/authorize'), request)).json;
    expect(ok).toMatchObject({ allow: true, decision: 'allowed', action_id: p.action_id, approval_id: p.approval_id });

    // Kong's completion report completes the approved action in the store (action.completed).
    expect((await postJson(t.url('/kong/v1/complete'), { action_id: p.action_id, upstream_status: 201, latencies: { request: 12 } })).status).toBe(204);
    const status = async () => (await call(t.url(''), 'GET', `/api/agent-action/status/${p.action_id}`, KEYS.viewer)).body;
    await waitFor(async () => (await status()).status === 'completed', { what: 'completion stored' });
    expect((await status()).completion).toMatchObject({ status: 'success', result: { adapter: 'kong', upstream_status: 201, latencies_ms: { request: 12 } } });

    // ... and is an action.completed line in the SIEM stream, once, as a REST completion is.
    const line = await waitFor(() => completedLines().find((l) => l.action_id === p.action_id), { what: 'SIEM completion' });
    expect(line).toMatchObject({
      schema: 1, kind: 'audit', type: 'action.completed', agent_id: 'billing-agent', status: 'success',
      adapter: 'kong', upstream_status: 201, latencies_ms: { request: 12 },
    });
    expect((await postJson(t.url('/kong/v1/complete'), { action_id: p.action_id, upstream_status: 201 })).status).toBe(204);
    const plain = (await postJson(t.url('/kong/v1/complete'), { action_id: 'act-plain-allow', upstream_status: 503 })).status;
    expect(plain).toBe(204);
    await waitFor(() => completedLines().some((l) => l.action_id === 'act-plain-allow'), { what: 'plain-allow completion' });
    expect(completedLines().filter((l) => l.action_id === p.action_id)).toHaveLength(1);
    expect(completedLines().find((l) => l.action_id === 'act-plain-allow')).toMatchObject({ agent_id: null, status: 'failure', upstream_status: 503, latencies_ms: null });
  });
});

describe('Kong completions in the SIEM stream without a store', () => {
  it('each report is an action.completed line', async () => {
    const path = join(dir, 'siem-nostore.jsonl');
    const app = await startApp(`${CORE}\naudit_stream: {enabled: true, path: ${JSON.stringify(path)}}\n`);
    try {
      const request = CASES.find((c) => c.expected_decision === 'allowed')!.expected_request;
      const ok = (await postJson(app.url('/kong/v1/authorize'), request)).json;
      expect(ok.allow).toBe(true);
      expect((await postJson(app.url('/kong/v1/complete'), { action_id: ok.action_id, upstream_status: 200, latencies: { request: 3, proxy: 2, kong: 1 } })).status).toBe(204);
      expect(completedLines(path)).toEqual([{
        schema: 1, kind: 'audit', type: 'action.completed', time: expect.any(String), action_id: ok.action_id, agent_id: null,
        status: 'success', adapter: 'kong', upstream_status: 200, latencies_ms: { request: 3, proxy: 2, kong: 1 },
      }]);
      // The decision line with the same action_id names the agent.
      expect(siemLines(path).find((l) => l.type === 'decision' && l.action_id === ok.action_id)).toMatchObject({ adapter: 'kong', decision: 'allowed' });
    } finally {
      await app.close();
    }
  });
});
