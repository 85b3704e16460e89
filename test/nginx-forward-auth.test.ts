/**
 * A real nginx in front of a small upstream, asking the sidecar through auth_request with
 * the snippets users copy from deploy/nginx/ (read from there, so docs and test cannot
 * drift). A second server block uses a sidecar whose pending status is 429 and denial
 * status 401, to measure what nginx does with statuses other than 403.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { rawRequest } from './helpers/http.js';
import { freePort, protectedServer, startNginx, type Nginx } from './helpers/nginx.js';
import { describeWith } from './helpers/tools.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const ENDPOINT_CONF = fileURLToPath(new URL('../deploy/nginx/ascend-auth-endpoint.conf', import.meta.url));
const PROTECT_CONF = fileURLToPath(new URL('../deploy/nginx/ascend-protect.conf', import.meta.url));

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

function startUpstream(seen: Seen[]): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('upstream says hi\n');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

describeWith('nginx', 'nginx auth_request → sidecar forward-auth (real nginx)', () => {
  let sidecar: TestApp;
  let strict: TestApp;
  let upstream: { server: Server; port: number };
  let nginx: Nginx;
  let port: number;
  let port2: number;
  const seen: Seen[] = [];

  beforeAll(async () => {
    sidecar = await startApp(CORE);
    strict = await startApp(`${CORE}\nresponses: {pending_status: 429, denied_status: 401}\n`);
    upstream = await startUpstream(seen);
    [port, port2] = [await freePort(), await freePort()];
    nginx = await startNginx((dir) => {
      // The second server's copy of the endpoint points at the second sidecar.
      const endpoint2 = join(dir, 'ascend-auth-endpoint-strict.conf');
      writeFileSync(endpoint2, readFileSync(ENDPOINT_CONF, 'utf8').replace('http://ascend_sidecar/', 'http://ascend_sidecar_strict/'));
      const server = (listen: number, endpoint: string) => protectedServer(listen, { endpoint, protect: PROTECT_CONF });
      return `
    upstream ascend_sidecar { server 127.0.0.1:${sidecar.httpPort}; keepalive 4; }
    upstream ascend_sidecar_strict { server 127.0.0.1:${strict.httpPort}; }
    upstream app { server 127.0.0.1:${upstream.port}; }
${server(port, ENDPOINT_CONF)}
${server(port2, endpoint2)}`;
    }, [port, port2]);
  });

  afterAll(async () => {
    await nginx?.stop();
    upstream?.server.close();
    await sidecar?.close();
    await strict?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, via = port) => rawRequest(via, { path, headers: { host: 'api.example.com', ...headers } });
  const decisionFor = (actionId: unknown, app = sidecar) => app.decisions().find((l) => l.action_id === actionId);

  it('allowed: reaches the upstream with x-ascend-decision and x-ascend-action-id', async () => {
    const before = seen.length;
    const res = await get('/v1/orders/o-1?expand=lines', { 'x-agent-id': 'crawler' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('upstream says hi\n');
    expect(seen.length).toBe(before + 1);
    const got = seen.at(-1)!;
    expect(got).toMatchObject({ method: 'GET', url: '/v1/orders/o-1?expand=lines' });
    expect(got.headers['x-ascend-decision']).toBe('allowed');
    expect(got.headers['x-ascend-action-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(got.headers['x-ascend-policy-id']).toBe('pol_orders_read');
    expect(decisionFor(got.headers['x-ascend-action-id'])).toMatchObject({ adapter: 'forward_auth', method: 'GET', path: '/v1/orders/o-1', agent_id: 'crawler' });
  });

  it('allowed: the original method and query decide, and the body still reaches the upstream', async () => {
    const before = seen.length;
    const res = await rawRequest(port, {
      method: 'POST',
      path: '/v1/refunds/r-1?amount=500',
      headers: { host: 'api.example.com', 'x-agent-id': 'billing-agent', 'content-type': 'application/json' },
      body: '{"reason":"damaged"}',
    });
    expect(res.status).toBe(200);
    const got = seen[before]!;
    expect(got).toMatchObject({ method: 'POST', body: '{"reason":"damaged"}' });
    expect(decisionFor(got.headers['x-ascend-action-id'])).toMatchObject({ method: 'POST', action_type: 'payments.refund', policy_id: 'pol_refund_small' });
  });

  it('client-sent x-ascend-* never reach the upstream', async () => {
    const before = seen.length;
    await get('/v1/orders/o-2', { 'x-agent-id': 'crawler', 'x-ascend-decision': 'forged', 'x-ascend-approval-id': 'apr_forged', 'x-ascend-risk-score': '0' });
    const got = seen[before]!;
    expect(got.headers['x-ascend-decision']).toBe('allowed');
    expect(got.headers['x-ascend-approval-id']).toBeUndefined();
    expect(got.headers['x-ascend-risk-score']).not.toBe('0');
  });

  it('denied: 403 from nginx, never reaches the upstream', async () => {
    const before = seen.length;
    const res = await get('/admin/users', { 'x-agent-id': 'crawler' });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-ascend-decision']).toBe('denied');
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ decision: 'denied', action_id: res.headers['x-ascend-action-id'] });
    expect(decisionFor(body.action_id)).toMatchObject({ decision: 'denied', policy_id: 'pol_admin_deny' });
    expect(seen.length).toBe(before);
  });

  it('denied: a traversal nginx resolves for routing is judged as the upstream would see it', async () => {
    const before = seen.length;
    const res = await get('/v1/orders/%2e%2e/%2e%2e/admin/x', { 'x-agent-id': 'crawler' });
    expect(res.status).toBe(403);
    expect(decisionFor(res.headers['x-ascend-action-id'])).toMatchObject({ path: '/admin/x', policy_id: 'pol_admin_deny' });
    expect(seen.length).toBe(before);
  });

  it('pending: the pending status (default 403) with the approval id, never reaches the upstream', async () => {
    const before = seen.length;
    const res = await rawRequest(port, { method: 'POST', path: '/v1/refunds/r-1?amount=1500', headers: { host: 'api.example.com', 'x-agent-id': 'billing-agent' } });
    expect(res.status).toBe(403);
    expect(res.headers['x-ascend-decision']).toBe('pending');
    expect(res.headers['x-ascend-approval-id']).toMatch(/^apr_/);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.headers['x-ascend-status-url']).toBe(`/api/sdk/approval/${String(res.headers['x-ascend-approval-id'])}`);
    expect(JSON.parse(res.body)).toMatchObject({ decision: 'pending', approval_id: res.headers['x-ascend-approval-id'], status_url: res.headers['x-ascend-status-url'] });
    expect(seen.length).toBe(before);
  });

  it('measured: a pending status other than 401/403 (429) is a 500 from nginx', async () => {
    const before = seen.length;
    const res = await rawRequest(port2, { method: 'POST', path: '/v1/refunds/r-1?amount=1500', headers: { host: 'api.example.com', 'x-agent-id': 'billing-agent' } });
    expect(res.status).toBe(500);
    expect(strict.decisions().at(-1)).toMatchObject({ decision: 'pending' });
    expect(seen.length).toBe(before);
    expect(nginx.errorLog()).toMatch(/auth request unexpected status: 429/);
  });

  it('measured: a denial status of 401 is passed to the client as 401', async () => {
    const before = seen.length;
    const res = await get('/admin/users', { 'x-agent-id': 'crawler' }, port2);
    expect(res.status).toBe(401);
    expect(seen.length).toBe(before);
  });

  it('sidecar down: nginx answers 500 (fails closed), nothing reaches the upstream', async () => {
    await sidecar.close();
    const before = seen.length;
    const res = await get('/v1/orders/o-1', { 'x-agent-id': 'crawler' });
    expect(res.status).toBe(500);
    expect(seen.length).toBe(before);
  });
});
