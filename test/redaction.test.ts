/**
 * Secrets in request targets and headers never reach a log: the decision log (raw_target and,
 * with include_headers, the headers), the SIEM stream, the audit rows and the error logs that
 * print a URL. Real app, real gRPC and HTTP clients, a real SQLite file and SIEM file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { rawRequest } from './helpers/http.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const dir = tempDir('ascend-redact-');
const siem = join(dir, 'siem.jsonl');
const SECRETS = ['S3CRET-QUERY', 'S3CRET-APIKEY', 'S3CRET-AUTHTOKEN', 'S3CRET-VAULT', 'S3CRET-REFERER', 'S3CRET-ERR'];

let t: TestApp;
beforeAll(async () => {
  const extra = `decision_log: {include_headers: true}
audit_stream: {enabled: true, path: ${JSON.stringify(siem)}}`;
  t = await startApp(storeConfig(dir, CORE, extra), { dir });
});
afterAll(() => t.close());

const everything = () => `${JSON.stringify(t.logs)}\n${readFileSync(siem, 'utf8')}`;
const decisionFor = (actionId: string | undefined) => t.decisions().find((l) => l.action_id === actionId)!;

describe('secrets stay out of every log', () => {
  it('Envoy: query values and secret headers are masked, the keys and the rest kept', async () => {
    const c = new AuthzClient(t.grpcPort);
    try {
      const res = await c.check({
        path: '/v1/orders/1?Access_Token=S3CRET-QUERY&page=2',
        headers: {
          'x-agent-id': 'crawler', apikey: 'S3CRET-APIKEY', 'x-auth-token': 'S3CRET-AUTHTOKEN', 'x-vault-token': 'S3CRET-VAULT',
          referer: 'https://app.example/cb?code=S3CRET-REFERER',
        },
      });
      expect(decisionOf(res)).toBe('allowed');
      const line = decisionFor(header(res, 'x-ascend-action-id'));
      expect(line.raw_target).toBe('/v1/orders/1?Access_Token=[REDACTED]&page=2');
      expect(line.headers).toMatchObject({
        apikey: '[REDACTED]', 'x-auth-token': '[REDACTED]', 'x-vault-token': '[REDACTED]',
        ':path': '/v1/orders/1?Access_Token=[REDACTED]&page=2',
        referer: 'https://app.example/cb?code=[REDACTED]', 'x-agent-id': 'crawler',
      });
    } finally {
      c.close();
    }
  });

  it('Kong and forward-auth: the same', async () => {
    const kong = await fetch(t.url('/kong/v1/authorize'), {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: { method: 'GET', host: 'api.example.com', path: '/v1/orders/2', raw_query: 'api_key=S3CRET-QUERY', headers: { 'x-agent-id': 'crawler', 'x-vault-token': 'S3CRET-VAULT' } } }),
    }).then((r) => r.json() as Promise<{ action_id: string }>);
    expect(decisionFor(kong.action_id).raw_target).toBe('/v1/orders/2?api_key=[REDACTED]');
    const fwd = await rawRequest(t.httpPort, { path: '/forward-auth', headers: { 'x-original-uri': '/v1/orders/3?sig=S3CRET-QUERY', 'x-agent-id': 'crawler', 'x-auth-token': 'S3CRET-AUTHTOKEN' } });
    expect(fwd.status).toBe(200);
    expect(decisionFor(fwd.headers['x-ascend-action-id'] as string).raw_target).toBe('/v1/orders/3?sig=[REDACTED]');
  });

  it('an error log that prints the request URL masks its query', async () => {
    // A real store failure: the audit table vanishes under the running sidecar, for a moment.
    const db = new Database(join(dir, 'data', 'ascend.db'));
    db.exec('ALTER TABLE audit RENAME TO audit_away');
    try {
      const res = await call(t.url(''), 'GET', '/api/audit?limit=1&access_token=S3CRET-ERR', KEYS.admin);
      expect(res.status).toBe(500);
    } finally {
      db.exec('ALTER TABLE audit_away RENAME TO audit');
      db.close();
    }
    const logged = t.logs.find((l) => l.msg === 'api request failed');
    expect(logged?.url).toBe('/api/audit?limit=1&access_token=[REDACTED]');
  });

  it('no secret appears in any log line, SIEM line or audit row', async () => {
    await waitFor(async () => (await call(t.url(''), 'GET', '/api/audit?limit=50', KEYS.admin)).body.items.length >= 3 || undefined, { what: 'audit rows' });
    const audit = JSON.stringify((await call(t.url(''), 'GET', '/api/audit?limit=50', KEYS.admin)).body);
    const text = `${everything()}\n${audit}`;
    for (const s of SECRETS) expect(text, s).not.toContain(s);
    expect(readFileSync(siem, 'utf8').split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(3);
  });
});

describe('decision_log.redact', () => {
  it('adds query keys and headers to the built-in lists', async () => {
    const app = await startApp(`${CORE}\ndecision_log: {include_headers: true, redact: {query: [Tenant_Secret], headers: [X-Custom-Secret]}}\n`);
    try {
      const fwd = await rawRequest(app.httpPort, {
        path: '/forward-auth/v1/orders/4?tenant_secret=S3CRET-CUSTOM&token=S3CRET-QUERY&tenant=acme',
        headers: { 'x-agent-id': 'crawler', 'x-custom-secret': 'S3CRET-CUSTOM', authorization: 'Bearer S3CRET-QUERY' },
      });
      const line = app.decisions().find((l) => l.action_id === fwd.headers['x-ascend-action-id'])!;
      expect(line.raw_target).toBe('/v1/orders/4?tenant_secret=[REDACTED]&token=[REDACTED]&tenant=acme');
      expect(line.headers).toMatchObject({ 'x-custom-secret': '[REDACTED]', authorization: '[REDACTED]' });
      expect(JSON.stringify(app.logs)).not.toMatch(/S3CRET/);
    } finally {
      await app.close();
    }
  });

  it('a header name that is not an HTTP token is a config error naming the field', async () => {
    await expect(startApp(`${CORE}\ndecision_log: {redact: {headers: ["x-ok", "bad header"]}}\n`)).rejects.toThrow(/decision_log\.redact\.headers\[1\]/);
  });
});
