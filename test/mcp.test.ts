/**
 * MCP over streamable HTTP (issue 18 item 2): examples/mcp.yaml — the contract config —
 * loads and decides as its comments say, through a real gRPC client (Envoy ext_authz), the Kong
 * plugin endpoint and forward-auth over real HTTP. Denials and pending answers reach an MCP client
 * as JSON-RPC errors; every governed call of a batch is decided and logged on its own.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf, header, type CheckResponse } from './helpers/grpc-client.js';
import { postJson, rawRequest } from './helpers/http.js';

const EXAMPLE = readFileSync(new URL('../examples/mcp.yaml', import.meta.url), 'utf8');
const AGENT = { 'x-agent-id': 'db-agent', 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

const call = (id: number | string, name: string, args: Record<string, unknown> = {}) =>
  ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** The JSON-RPC answer Envoy would send the client, with its HTTP status. */
function answer(res: CheckResponse): { status: string | undefined; json: any } {
  return { status: res.denied_response?.status?.code, json: JSON.parse(res.denied_response?.body ?? 'null') };
}

describe('MCP: examples/mcp.yaml through Envoy ext_authz', () => {
  let t: TestApp;
  let client: AuthzClient;
  beforeAll(async () => {
    t = await startApp(EXAMPLE);
    client = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });
  const send = (server: string, body: unknown, headers: Record<string, string> = {}) =>
    client.check({ method: 'POST', path: `/mcp/${server}`, headers: { ...AGENT, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('tools/call delete_file is denied: HTTP 200 and a JSON-RPC error with the decision', async () => {
    const res = await send('files', call(7, 'delete_file', { path: '/tmp/x' }));
    expect(decisionOf(res)).toBe('denied');
    const { status, json } = answer(res);
    expect(status).toBe('OK'); // HTTP 200: the agent sees a tool error, not a transport failure
    expect(json).toMatchObject({
      jsonrpc: '2.0', id: 7,
      error: { code: -32001, data: { decision: 'denied', code: 'policy_deny', policy_id: 'pol_mcp_no_delete', action_id: header(res, 'x-ascend-action-id') } },
    });
    expect(typeof json.error.message).toBe('string');
    expect(t.decisions().at(-1)).toMatchObject({ action_type: 'mcp.files.delete_file', resource: 'delete_file', decision: 'denied' });
  });

  it('calls that differ only in their id share a cached decision; each answer carries its own id', async () => {
    const args = { path: '/tmp/ids', note: 'n'.repeat(2000) };
    for (const id of [101, 'req-102', 103, 101]) {
      const res = await send('files', call(id, 'delete_file', args));
      expect(answer(res).json).toMatchObject({ jsonrpc: '2.0', id, error: { data: { decision: 'denied', policy_id: 'pol_mcp_no_delete' } } });
    }
    expect(t.decisions().slice(-4).map((l) => l.cache_hit)).toEqual([false, true, true, true]);
    // Other arguments: their own decision, not the cached one.
    const other = await send('files', call(104, 'delete_file', { ...args, path: '/tmp/other' }));
    expect([decisionOf(other), t.decisions().at(-1)?.cache_hit]).toEqual(['denied', false]);
  });

  it('a big query is pending for a DBA; a small one is allowed (parameters = the arguments)', async () => {
    const big = await send('db', call('q-1', 'query', { sql: 'select * from t', limit: 5000 }));
    expect(decisionOf(big)).toBe('pending');
    const { status, json } = answer(big);
    expect(status).toBe('OK');
    expect(json.id).toBe('q-1');
    expect(json.error.data).toMatchObject({ decision: 'pending', policy_id: 'pol_mcp_big_query', code: 'approval_required' });
    expect(json.error.data.approval_id).toBe(header(big, 'x-ascend-approval-id'));
    expect(json.error.data.status_url).toContain(json.error.data.approval_id);
    const small = await send('db', call('q-2', 'query', { sql: 'select 1', limit: 10 }));
    expect(decisionOf(small)).toBe('allowed');
    expect(small.denied_response).toBeUndefined();
  });

  it('housekeeping passes without policy; unknown methods are governed', async () => {
    const before = t.decisions().length;
    for (const method of ['initialize', 'ping', 'tools/list', 'resources/list', 'prompts/list']) {
      const res = await send('files', { jsonrpc: '2.0', id: 1, method, params: {} });
      expect(decisionOf(res), method).toBe('allowed');
    }
    expect(decisionOf(await send('files', { jsonrpc: '2.0', method: 'notifications/initialized' }))).toBe('allowed');
    const lines = t.decisions().slice(before);
    expect(lines).toHaveLength(6);
    expect(lines.every((l) => l.code === 'mcp_ungoverned' && l.policy_id === null)).toBe(true);
    // Not housekeeping: evaluated (here: action_type "mcp.files." is under the prefix rule).
    await send('files', { jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'file:///x' } });
    expect(t.decisions().at(-1)).toMatchObject({ code: 'policy_allow', policy_id: 'pol_mcp_tools' });
  });

  it('a batch: each call decided and logged; any denial denies the batch, errors for every id', async () => {
    const before = t.decisions().length;
    const res = await send('files', [call(1, 'read_file', { path: '/a' }), { jsonrpc: '2.0', method: 'notifications/progress' }, call(2, 'delete_file', { path: '/b' })]);
    expect(decisionOf(res)).toBe('denied');
    const { status, json } = answer(res);
    expect(status).toBe('OK');
    expect(json.map((e: any) => e.id)).toEqual([1, 2]);
    expect(json[0].error.data.policy_id).toBe('pol_mcp_no_delete');
    const lines = t.decisions().slice(before);
    expect(lines.map((l) => [l.action_type, l.decision])).toEqual([['mcp.files.read_file', 'allowed'], ['mcp.files.delete_file', 'denied']]);
    const ok = await send('files', [call(3, 'read_file', { path: '/a' }), call(4, 'list_dir', { path: '/' })]);
    expect(decisionOf(ok)).toBe('allowed');
  });

  it('not JSON, not JSON-RPC, or a governed call without its params: denied invalid_mcp (400)', async () => {
    for (const body of ['not json', '{"hello": 1}', '[]', '{"jsonrpc": "1.0", "id": 1, "method": "ping"}',
      '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {}}', '{"jsonrpc": "2.0", "id": {}, "method": "ping"}', '']) {
      const res = await send('files', body);
      expect(decisionOf(res), body).toBe('denied');
      expect(res.denied_response?.status?.code, body).toBe('BadRequest');
      expect(JSON.parse(res.denied_response?.body ?? '{}').code, body).toBe('invalid_mcp');
    }
  });

  it('a partial body is denied body_truncated', async () => {
    const res = await send('files', JSON.stringify(call(1, 'read_file')).slice(0, 30), { 'x-envoy-auth-partial-body': 'true' });
    expect(JSON.parse(res.denied_response?.body ?? '{}').code).toBe('body_truncated');
  });

  it('the Kong plugin renders the JSON-RPC error with status 200; forward-auth keeps 403', async () => {
    const kong = await postJson(t.url('/kong/v1/authorize'), {
      request: { method: 'POST', scheme: 'http', host: 'mcp.example.com', port: 8000, path: '/mcp/files', headers: AGENT, body: JSON.stringify(call(9, 'delete_file')), body_truncated: false },
    });
    expect(kong.json).toMatchObject({ allow: false, status: 200, decision: 'denied' });
    expect(JSON.parse(kong.json.body)).toMatchObject({ jsonrpc: '2.0', id: 9, error: { code: -32001, data: { policy_id: 'pol_mcp_no_delete' } } });
    const fa = await rawRequest(t.httpPort, { method: 'POST', path: '/forward-auth/mcp/files', headers: AGENT, body: JSON.stringify(call(10, 'delete_file')) });
    expect(fa.status).toBe(403);
    expect(JSON.parse(fa.body)).toMatchObject({ id: 10, error: { code: -32001, data: { decision: 'denied' } } });
    const allowed = await rawRequest(t.httpPort, { method: 'POST', path: '/forward-auth/mcp/files', headers: AGENT, body: JSON.stringify(call(11, 'read_file')) });
    expect(allowed.status).toBe(200);
  });
});

describe('MCP: resources, prompts and mcp.govern', () => {
  const CONFIG = `
identity: {sources: [{header: x-agent-id}]}
routes:
  - match: {methods: [POST], path: "/mcp/{server}"}
    mcp: {govern: [tools/list]}
    action_type: "mcp.{server}.{mcp.method}"
    resource: "{mcp.tool}{mcp.uri}{mcp.prompt}"
    parameters: {who: "{header.x-agent-id}", lang: "{body.params.arguments.lang}"}
policies:
  - {id: pol_no_secrets, priority: 90, conditions: {action_type: mcp.docs.resources/read, resource: {prefix: "file:///secrets/"}}, action: deny}
  - {id: pol_no_list, priority: 80, conditions: {action_type: mcp.docs.tools/list}, action: deny}
  - {id: pol_prompt_lang, priority: 70, conditions: {action_type: mcp.docs.prompts/get, parameters.lang: fr}, action: deny}
  - {id: pol_rest, priority: 1, conditions: {action_type: {prefix: "mcp."}}, action: allow}
`;
  let t: TestApp;
  let client: AuthzClient;
  beforeAll(async () => {
    t = await startApp(CONFIG);
    client = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });
  const send = (body: unknown) => client.check({ method: 'POST', path: '/mcp/docs', headers: AGENT, body: JSON.stringify(body) });

  it('resources/read maps mcp.uri, prompts/get mcp.prompt; explicit parameters replace the arguments', async () => {
    expect(decisionOf(await send({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///secrets/key' } }))).toBe('denied');
    expect(t.decisions().at(-1)).toMatchObject({ resource: 'file:///secrets/key', policy_id: 'pol_no_secrets' });
    expect(decisionOf(await send({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'file:///docs/a' } }))).toBe('allowed');
    expect(decisionOf(await send({ jsonrpc: '2.0', id: 3, method: 'prompts/get', params: { name: 'summary', arguments: { lang: 'fr' } } }))).toBe('denied');
    expect(t.decisions().at(-1)).toMatchObject({ resource: 'summary', policy_id: 'pol_prompt_lang' });
    expect(decisionOf(await send({ jsonrpc: '2.0', id: 4, method: 'prompts/get', params: { name: 'summary', arguments: { lang: 'en' } } }))).toBe('allowed');
  });

  it('govern: [tools/list] evaluates tools/list; ping stays ungoverned', async () => {
    expect(decisionOf(await send({ jsonrpc: '2.0', id: 5, method: 'tools/list' }))).toBe('denied');
    expect(decisionOf(await send({ jsonrpc: '2.0', id: 6, method: 'ping' }))).toBe('allowed');
  });

  it('{mcp.*} outside an mcp route is a config error naming the field', async () => {
    const { runtimeFromText } = await import('../src/config/runtime.js');
    expect(() => runtimeFromText('routes: [{match: {path: /x}, action_type: "a.{mcp.tool}"}]', 'inline.yaml', 1)).toThrow(/routes\[0\]\.action_type.*mcp: \{\}/s);
  });
});
