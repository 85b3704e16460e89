/**
 * The approver console's server side over real HTTP with a real SQLite store: the page and its
 * CSP, login (cookie attributes, agent keys refused, rate limit), sessions (stored as digests,
 * expiry, logout, keys removed by a reload), CSRF on every change, roles (a viewer cannot vote),
 * and votes that decide a pending action created through a real gRPC check. The browser side is
 * in console-browser.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { API_KEYS_YAML, KEYS, ManualClock, storeConfig } from './helpers/api.js';
import { withAppAndClient } from './helpers/app-client.js';
import { ConsoleClient } from './helpers/console.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { TestPki } from './helpers/certs.js';
import { tempDir } from './helpers/tmp.js';
import { describeWith } from './helpers/tools.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const dir = tempDir('ascend-console-');
let n = 0;
const refund = (amount: number, id = 'r-9') => ({ method: 'POST', path: `/v1/refunds/${id}?amount=${amount}`, headers: { 'x-agent-id': 'billing-agent' } });

async function sidecar(extra = '', opts: Parameters<typeof startApp>[1] = {}) {
  const d = join(dir, `app${++n}`);
  mkdirSync(d, { recursive: true });
  const t = await startApp(storeConfig(d, CORE, extra), { ...opts, dir: d });
  return { t, dir: d, client: () => new ConsoleClient(t.url('')) };
}

describe('the console page', () => {
  let s: Awaited<ReturnType<typeof sidecar>>;
  beforeAll(async () => { s = await sidecar(); });
  afterAll(() => s.t.close());

  it('is served prebuilt under a CSP without inline scripts, with no inline script in it', async () => {
    const res = await fetch(s.t.url('/console'));
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(1);
    for (const m of scripts) {
      expect(m[0]).toMatch(/src="\/console\/assets\/app\.js"/);
      expect((m[1] as string).trim()).toBe('');
    }
    expect(html).not.toMatch(/ on[a-z]+=/i); // no inline handlers
    const js = await fetch(s.t.url('/console/assets/app.js'));
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await js.text()).length).toBeGreaterThan(1000);
  });

  it('takes no API key in place of a session', async () => {
    const r = await fetch(s.t.url('/console/api/approvals'), { headers: { 'x-api-key': KEYS.admin } });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });
});

describe('console login and sessions', () => {
  let s: Awaited<ReturnType<typeof sidecar>>;
  beforeAll(async () => { s = await sidecar('console: {login_attempts_per_minute: 5}'); });
  afterAll(() => s.t.close());

  it('exchanges a key for an HttpOnly, SameSite=Strict session cookie (no Secure without TLS) and a CSRF token', async () => {
    const c = s.client();
    const r = await c.login(KEYS.finance);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'fred', role: 'approver', groups: ['finance-manager'] });
    expect(r.body.csrf_token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const cookie = r.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^ascend_console=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Secure');
    expect(JSON.stringify(r.body)).not.toContain(KEYS.finance);
    const me = await c.request('GET', '/session');
    expect([me.status, me.body.name, me.body.csrf_token]).toEqual([200, 'fred', c.csrf]);
    // The store holds the token's digest, never the token (nor the key).
    const token = c.cookie.split('=')[1] as string;
    const db = new Database(join(s.dir, 'data', 'ascend.db'), { readonly: true });
    const rows = db.prepare('SELECT * FROM console_sessions').all() as Record<string, unknown>[];
    db.close();
    expect(rows.map((x) => x.session_digest)).toContain(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(rows)).not.toContain(KEYS.finance);
  });

  it('refuses unknown keys and agent keys, then rate-limits the address (5 a minute: one login above)', async () => {
    const c = s.client();
    const results = [];
    for (const key of ['nope', KEYS.billing, KEYS.viewer, 'nope', KEYS.viewer]) {
      const r = await c.request('POST', '/login', { key }, { csrf: null });
      results.push([r.status, r.body.error?.code ?? 'ok', r.headers.get('retry-after')]);
    }
    expect(results.slice(0, 3)).toEqual([[401, 'unauthorized', null], [403, 'forbidden', null], [200, 'ok', null]]);
    expect(results[3]?.slice(0, 2)).toEqual([401, 'unauthorized']);
    expect(results[4]?.[0]).toBe(429);
    expect(results[4]?.[1]).toBe('rate_limited');
    expect(Number(results[4]?.[2])).toBeGreaterThan(0);
  });

  it('logs out: the cookie is cleared and the old one opens nothing', async () => {
    const other = await sidecar();
    try {
      const d = other.client();
      expect((await d.login(KEYS.viewer)).status).toBe(200);
      const old = d.cookie;
      expect((await d.request('POST', '/logout', undefined, { csrf: null })).body.error.code).toBe('csrf_required');
      const out = await d.request('POST', '/logout');
      expect(out.status).toBe(200);
      expect(out.headers.get('set-cookie')).toMatch(/^ascend_console=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/);
      d.cookie = old;
      expect((await d.request('GET', '/session')).status).toBe(401);
    } finally {
      await other.t.close();
    }
  });
});

describe('console sessions expire, and end with their key', () => {
  it('answers 401 after session_ttl_minutes, and once a reload removes the key', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 5, 9));
    const s = await sidecar('console: {session_ttl_minutes: 30}', { app: { now: clock.now, timers: clock.timers } });
    try {
      const a = s.client();
      const b = s.client();
      expect((await a.login(KEYS.finance)).status).toBe(200);
      expect((await b.login(KEYS.lead)).status).toBe(200);
      clock.advance(29 * 60_000);
      expect((await a.request('GET', '/session')).status).toBe(200);
      clock.advance(60_000);
      expect((await a.request('GET', '/session')).status).toBe(401);
      // lee's key is taken out of the config: its live session ends with it.
      const yaml = readFileSync(s.t.configPath, 'utf8').split('\n').filter((l) => !l.includes('name: lee')).join('\n');
      writeFileSync(s.t.configPath, yaml);
      expect((await s.t.app.reload('api')).result).toBe('success');
      expect((await b.request('GET', '/session')).status).toBe(401);
    } finally {
      await s.t.close();
    }
  });
});

describe('console votes: roles, CSRF, and the gateway retry', () => {
  let s: Awaited<ReturnType<typeof sidecar>>;
  let authz: AuthzClient;
  beforeAll(async () => {
    s = await sidecar();
    authz = new AuthzClient(s.t.grpcPort);
  });
  afterAll(async () => { authz.close(); await s.t.close(); });

  it('lists the pending action oldest first with risk factors, who must vote and the deadline', async () => {
    const first = await authz.check(refund(5000, 'r-1'));
    const second = await authz.check(refund(7000, 'r-2'));
    expect([decisionOf(first), decisionOf(second)]).toEqual(['pending', 'pending']);
    const c = s.client();
    await c.login(KEYS.viewer);
    const list = await c.request('GET', '/approvals');
    expect(list.status).toBe(200);
    expect(list.body.items.map((a: any) => a.approval_id)).toEqual([header(first, 'x-ascend-approval-id'), header(second, 'x-ascend-approval-id')]);
    const a = list.body.items[0];
    expect(a).toMatchObject({ agent_id: 'billing-agent', status: 'pending', approvers: ['finance-manager'], still_needed: 1, on_timeout: 'deny', step: 1, steps: 1 });
    expect(a.risk_factors.length).toBeGreaterThan(0);
    expect(a.risk_factors.reduce((sum: number, f: any) => sum + f.points, 0)).toBe(a.risk_score);
    expect(Date.parse(a.deadline_at)).toBeGreaterThan(Date.parse(a.requested_at));
  });

  it('refuses a vote without the CSRF token, a viewer\'s vote, and takes an approver\'s: the retry is allowed', async () => {
    const pending = await authz.check(refund(9000, 'r-3'));
    const approvalId = header(pending, 'x-ascend-approval-id') as string;
    const viewer = s.client();
    await viewer.login(KEYS.viewer);
    const byViewer = await viewer.request('POST', `/approvals/${approvalId}/approve`, { comment: 'hi' });
    expect([byViewer.status, byViewer.body.error.code]).toEqual([403, 'forbidden']);

    const fred = s.client();
    await fred.login(KEYS.finance);
    for (const csrf of [null, 'wrong-token']) {
      const r = await fred.request('POST', `/approvals/${approvalId}/approve`, { comment: 'x' }, { csrf });
      expect([r.status, r.body.error.code]).toEqual([403, 'csrf_required']);
    }
    expect(decisionOf(await authz.check(refund(9000, 'r-3')))).toBe('pending');
    const ok = await fred.request('POST', `/approvals/${approvalId}/approve`, { comment: 'checked the invoice' });
    expect([ok.status, ok.body.status]).toEqual([200, 'approved']);
    expect(ok.body.votes).toMatchObject([{ approver: 'fred', vote: 'approve', comment: 'checked the invoice' }]);
    const retry = await authz.check(refund(9000, 'r-3'));
    expect(retry.status.code ?? grpc.status.OK).toBe(grpc.status.OK);
    expect(decisionOf(retry)).toBe('allowed');
    const again = await fred.request('POST', `/approvals/${approvalId}/deny`, {});
    expect([again.status, again.body.error.code]).toEqual([409, 'not_pending']);
    const detail = await fred.request('GET', `/actions/${ok.body.action_id}`);
    expect(detail.body).toMatchObject({ action_id: ok.body.action_id, approval: { status: 'approved', votes: [{ approver: 'fred' }] } });
  });
});

describe('console without a store', () => {
  it('serves the page but answers its routes 501 store_not_configured', async () => {
    const t = await startApp(`${API_KEYS_YAML}\n${CORE}`);
    try {
      expect((await fetch(t.url('/console'))).status).toBe(200);
      const r = await new ConsoleClient(t.url('')).login(KEYS.viewer);
      expect([r.status, r.body.error.code]).toEqual([501, 'store_not_configured']);
    } finally {
      await t.close();
    }
  });
});

describeWith('openssl', 'console sessions over TLS', () => {
  it('sets a __Host- cookie with Secure on an https login, and reads it back', async () => {
    const pki = new TestPki(tempDir('ascend-console-tls-'));
    const server = pki.server('server', 'sidecar');
    const d = join(dir, `tls${++n}`);
    mkdirSync(d, { recursive: true });
    const core = CORE.replace(/^server: .*$/m, `server: {tls: {cert_file: ${JSON.stringify(server.cert)}, key_file: ${JSON.stringify(server.key)}}}`);
    const t = await startApp(storeConfig(d, core), { dir: d });
    const send = (method: string, path: string, headers: Record<string, string>, body?: string) => new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: t.httpPort, path, method, servername: 'localhost', ca: pki.caPem, headers }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    try {
      const login = await send('POST', '/console/api/login', { 'content-type': 'application/json' }, JSON.stringify({ key: KEYS.finance }));
      expect(login.status).toBe(200);
      const cookie = (login.headers['set-cookie'] as string[])[0] as string;
      expect(cookie).toMatch(/^__Host-ascend_console=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/);
      const me = await send('GET', '/console/api/session', { cookie: cookie.split(';')[0] as string });
      expect([me.status, JSON.parse(me.body).name]).toEqual([200, 'fred']);
    } finally {
      await t.close();
    }
  });
});

describe('console keys and sessions in plain text', () => {
  // A non-loopback address of this machine: connecting to it makes the peer non-loopback.
  const external = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4')?.address;

  it.skipIf(external === undefined)('refuses a login over plain HTTP from another host (403 plaintext_not_allowed) unless api.allow_plaintext', async () => {
    const strict = await sidecar('', { host: '0.0.0.0' });
    const lax = await sidecar('api: {allow_plaintext: true}', { host: '0.0.0.0' });
    try {
      const refused = await new ConsoleClient(`http://${external}:${strict.t.httpPort}`).login(KEYS.finance);
      expect([refused.status, refused.body.error.code]).toEqual([403, 'plaintext_not_allowed']);
      expect(refused.headers.get('set-cookie')).toBeNull();
      expect((await new ConsoleClient(`http://127.0.0.1:${strict.t.httpPort}`).login(KEYS.finance)).status).toBe(200);
      expect((await new ConsoleClient(`http://${external}:${lax.t.httpPort}`).login(KEYS.finance)).status).toBe(200);
    } finally {
      await Promise.all([strict.t.close(), lax.t.close()]);
    }
  });
});

describe('console policies: hits, monitor-mode would-denies and A/B results', () => {
  async function policiesAfterOrderReads(core: string, extra: string) {
    const d = join(dir, `pol${++n}`);
    mkdirSync(d, { recursive: true });
    return withAppAndClient(storeConfig(d, core, extra), { dir: d }, async (t, authz) => {
      for (let i = 0; i < 6; i++) await authz.check({ method: 'GET', path: `/v1/orders/${i}`, headers: { 'x-agent-id': 'crawler' } });
      const c = new ConsoleClient(t.url(''));
      await c.login(KEYS.viewer);
      const r = await c.request('GET', '/policies');
      expect(r.status).toBe(200);
      return r.body;
    });
  }

  it("counts each policy's decisions and a monitor-mode policy's would-denies", async () => {
    // A monitor-mode deny ahead of everything: it never decides; what it would have done is counted.
    const core = CORE.replace('policies:\n', 'policies:\n  - {id: pol_watch_orders, name: Watch order reads, priority: 200, mode: monitor, conditions: {action_type: orders.read}, action: deny}\n');
    const body = await policiesAfterOrderReads(core, '');
    const byId = Object.fromEntries(body.items.map((p: { id: string }) => [p.id, p]));
    expect(byId.pol_watch_orders).toMatchObject({ mode: 'monitor', hits: 0, monitor_would_deny: 6 });
    expect(byId.pol_orders_read).toMatchObject({ hits: 6, allowed: 6 });
    expect(body.ab_tests).toEqual([]);
  });

  it("shows an A/B test's results per variant", async () => {
    const body = await policiesAfterOrderReads(CORE, 'ab_tests: [{name: orders-ab, control_policy: pol_orders_read, test_policy: pol_admin_deny, traffic_split: 50, duration_days: 7}]');
    const ab = body.ab_tests[0];
    expect(ab).toMatchObject({ name: 'orders-ab', control_policy: 'pol_orders_read', test_policy: 'pol_admin_deny', status: 'running' });
    expect(ab.variants.control.decisions + ab.variants.test.decisions).toBe(6);
  });
});
