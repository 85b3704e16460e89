/**
 * Webhook subscriptions as the ASCEND SDK (2.3.0) manages them: its own requests, replayed byte
 * for byte from test/fixtures/sdk/webhooks-2.3.0.json against the real server with a real
 * SQLite store, every field the SDK reads asserted; a real receiver gets the signed
 * webhook.test and a later approval event, checked with the package's verifyWebhook. Then the
 * SSRF guard (at creation and at delivery), read-only config subscriptions and the roles.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../src/index.js';
import { startApp, type TestApp } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { loadSdkFixture, replay } from './helpers/sdk.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';
import { maskUrl } from '../src/observability/redact.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const SDK = loadSdkFixture('webhooks-2.3.0.json');
const req = SDK.requests;
const ROTATED = 'sécret-✓-rotated'; // what the SDK's update_webhook sets (sent as s\u00e9cret-\u2713-rotated)
const CONFIG_HOOK = 'https://config.invalid/hooks'; // .invalid never resolves (RFC 2606)
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('the SDK\'s webhook calls against a real receiver', () => {
  const dir = tempDir('ascend-sdk-webhooks-');
  let t: TestApp;
  let rx: Receiver;
  const sdk = (name: string, changes?: Parameters<typeof replay>[2]) => replay(t.url(''), req[name]!, changes);
  const withUrl = (name: string, path: string) => ({ body: req[name]!.body.replace(/https:\/\/hooks\.example\.com\/\w+/, `${rx.url}${path}`) });
  let generated = '';

  beforeAll(async () => {
    rx = await startReceiver(ROTATED);
    rx.script('/generated', [200]);
    const extra = `api: {allow_private_webhook_targets: true}\nwebhooks:\n  - {url: "${CONFIG_HOOK}", events: [policy.reloaded], secret: config-secret}`;
    t = await startApp(storeConfig(dir, CORE, extra), { dir });
  });
  afterAll(async () => { await t?.close(); await rx?.close(); });

  it('configure_webhook: 201 with every field the SDK reads, the given secret shown once', async () => {
    const r = await sdk('configure_webhook', withUrl('configure_webhook', '/ascend'));
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      webhook_id: 'wh_1', id: 'wh_1', url: `${rx.url}/ascend`, events: ['action.pending', 'action.approved', 'policy.violation'],
      active: true, secret: 'whsec-fixture-0123456789', agent_id: 'billing-agent', source: 'api', format: 'ascend',
      created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO),
    });
  });

  it('configure_webhook without a secret: one is generated and shown in this answer only', async () => {
    const r = await sdk('configure_webhook_generated_secret', withUrl('configure_webhook_generated_secret', '/generated'));
    expect([r.status, r.body.webhook_id]).toEqual([201, 'wh_2']);
    expect(r.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    generated = r.body.secret;
  });

  it('list_webhooks: {webhooks: [...]}, config subscriptions included, no secret anywhere', async () => {
    const r = await sdk('list_webhooks');
    expect(r.status).toBe(200);
    expect(r.body.webhooks.map((w: any) => [w.webhook_id, w.url, w.active, w.secret, w.source])).toEqual([
      [expect.stringMatching(/^cfg_[0-9a-f]{12}$/), maskUrl(CONFIG_HOOK), true, null, 'config'],
      ['wh_1', `${rx.url}/…`, true, null, 'api'],
      ['wh_2', `${rx.url}/…`, true, null, 'api'],
    ]);
    // URLs are secrets too (SECURITY.md): shown whole only in the answer that created them.
    for (const w of r.body.webhooks) expect(w.url).toMatch(/\/(…)?$/);
    for (const w of r.body.webhooks) expect(Object.keys(w)).toEqual(expect.arrayContaining(['webhook_id', 'id', 'url', 'events', 'active', 'secret', 'created_at']));
    const text = JSON.stringify(r.body);
    for (const secret of ['whsec-fixture-0123456789', generated, 'config-secret']) expect(text).not.toContain(secret);
  });

  it('update_webhook: the webhook object itself, secret not shown; {} changes nothing', async () => {
    const r = await sdk('update_webhook');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ webhook_id: 'wh_1', id: 'wh_1', url: `${rx.url}/…`, events: ['action.approved', 'agent.trust_changed'], active: true, secret: null });
    const empty = await sdk('update_webhook_empty');
    expect([empty.status, empty.body.events, empty.body.secret]).toEqual([200, ['action.approved', 'agent.trust_changed'], null]);
  });

  it('test_webhook (bodiless POST): delivers a signed webhook.test now and reports the answer', async () => {
    const r = await sdk('test_webhook');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true, status_code: 200, response_time_ms: expect.any(Number), error: null, event_id: expect.stringMatching(/^evt_/) });
    expect(Number.isInteger(r.body.response_time_ms) && r.body.response_time_ms >= 0).toBe(true);
    const got = rx.received.filter((x) => x.path === '/ascend');
    expect(got).toHaveLength(1);
    expect(verifyWebhook(ROTATED, got[0]!.headers, got[0]!.body)).toBe(true);
    expect(got[0]!.headers['x-event-id']).toBe(r.body.event_id);
    expect(JSON.parse(got[0]!.body)).toMatchObject({ id: r.body.event_id, event: 'webhook.test', data: { webhook_id: 'wh_1' } });
  });

  it('signs with the generated secret: the receiver (holding another) refuses, the answer says so', async () => {
    const r = await sdk('test_webhook', { path: '/api/webhooks/wh_2/test' });
    expect(r.body).toMatchObject({ success: false, status_code: 401, error: 'HTTP 401' });
    const got = rx.received.find((x) => x.path === '/generated')!;
    expect([verifyWebhook(generated, got.headers, got.body), verifyWebhook(ROTATED, got.headers, got.body)]).toEqual([true, false]);
  });

  it('delivers a later approval event to the API-made subscription, signed with its secret', async () => {
    const before = rx.received.length;
    const asked = await call(t.url(''), 'POST', '/api/authorization/agent-action', KEYS.billing, { action_type: 'payments.refund', resource: 'refund/r-wh', parameters: { amount: 5000 } });
    expect(asked.body.decision).toBe('pending');
    const voted = await call(t.url(''), 'POST', `/api/approvals/${asked.body.approval_id}/approve`, KEYS.finance, { comment: 'ok' });
    expect(voted.body.status).toBe('approved');
    const got = await waitFor(() => rx.received.slice(before).find((x) => x.path === '/ascend'), { what: 'action.approved delivery' });
    expect(verifyWebhook(ROTATED, got.headers, got.body)).toBe(true);
    expect(JSON.parse(got.body)).toMatchObject({ event: 'action.approved', data: { approval_id: asked.body.approval_id, agent_id: 'billing-agent', status: 'approved' } });
    // wh_2 wants action.denied only, and the pending event went to nobody.
    expect(rx.received.slice(before).map((x) => [x.path, JSON.parse(x.body).event])).toEqual([['/ascend', 'action.approved']]);
  });

  it('delete_webhook (bodiless DELETE): 200 with a JSON body; the subscription is gone', async () => {
    const r = await sdk('delete_webhook');
    expect([r.status, r.body]).toEqual([200, { deleted: true, webhook_id: 'wh_1' }]);
    expect((await sdk('list_webhooks')).body.webhooks.map((w: any) => w.webhook_id)).not.toContain('wh_1');
    for (const name of ['update_webhook', 'test_webhook', 'delete_webhook']) {
      const again = await sdk(name);
      expect([again.status, again.body.error.code]).toEqual([404, 'not_found']);
    }
  });

  it('config subscriptions are listed and testable but read-only; urls stay unique', async () => {
    const cfg = (await sdk('list_webhooks')).body.webhooks[0].webhook_id as string;
    const tried = await sdk('test_webhook', { path: `/api/webhooks/${cfg}/test` });
    expect(tried.body).toMatchObject({ success: false, status_code: null, error: expect.stringMatching(/^(ENOTFOUND|EAI_AGAIN)$/) });
    for (const name of ['update_webhook', 'delete_webhook']) {
      const r = await sdk(name, { path: `/api/webhooks/${cfg}` });
      expect([r.status, r.body.error.code]).toEqual([409, 'read_only']);
    }
    const dup = (url: string) => sdk('configure_webhook', { body: req.configure_webhook!.body.replace('https://hooks.example.com/ascend', url) });
    for (const url of [CONFIG_HOOK, `${rx.url}/generated`]) {
      const r = await dup(url);
      expect([r.status, r.body.error.code, r.body.error.field]).toEqual([409, 'webhook_exists', 'url']);
    }
  });

  it('an unknown event is a 400 whose detail names it', async () => {
    const r = await sdk('configure_webhook', { body: req.configure_webhook!.body.replace('"policy.violation"', '"agent.exploded"') });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { code: 'invalid_request', field: 'events[2]' }, detail: expect.stringContaining('unknown event "agent.exploded"') });
  });

  it('admin keys only; the dead-letter routes keep working', async () => {
    for (const key of [KEYS.viewer, KEYS.billing, KEYS.finance]) {
      const r = await sdk('list_webhooks', { headers: { 'x-api-key': key, authorization: `Bearer ${key}` } });
      expect([r.status, r.body.error.code]).toEqual([403, 'forbidden']);
    }
    expect((await call(t.url(''), 'GET', '/api/webhooks/dead-letters', KEYS.viewer)).body).toEqual({ items: [] });
    expect((await call(t.url(''), 'POST', '/api/webhooks/dead-letters/7/requeue', KEYS.admin)).status).toBe(404);
  });

  it('GET /api/docs lists every webhook route with its schema', async () => {
    const doc = (await call(t.url(''), 'GET', '/api/docs', KEYS.viewer)).body;
    expect(Object.keys(doc.paths['/api/webhooks'])).toEqual(['get']);
    expect(doc.paths['/api/webhooks/configure'].post).toMatchObject({ tags: ['webhooks'], summary: expect.any(String), requestBody: expect.anything() });
    expect(Object.keys(doc.paths['/api/webhooks/{webhook_id}']).sort()).toEqual(['delete', 'put']);
    expect(doc.paths['/api/webhooks/{webhook_id}/test'].post.responses['200']).toBeDefined();
  });
});

describe('the SSRF guard on API-made subscriptions', () => {
  const dir = tempDir('ascend-ssrf-');
  let t: TestApp;
  let rx: Receiver;
  const configure = (url: string) => replay(t.url(''), req.configure_webhook!, { body: req.configure_webhook!.body.replace('https://hooks.example.com/ascend', url) });
  const yaml = (allow: boolean) => storeConfig(dir, CORE, `api: {allow_private_webhook_targets: ${allow}}\nwebhook_delivery: {max_attempts: 1}`);

  beforeAll(async () => {
    rx = await startReceiver(ROTATED);
    t = await startApp(yaml(false), { dir });
  });
  afterAll(async () => { await t?.close(); await rx?.close(); });

  it.each([
    ['https://127.0.0.1/h', '127.0.0.1 is a loopback address'],
    ['https://10.1.2.3/h', '10.1.2.3 is a private address'],
    ['https://192.168.0.10:8443/h', '192.168.0.10 is a private address'],
    ['https://169.254.169.254/latest/meta-data/', '169.254.169.254 is a cloud metadata address'],
    ['https://100.64.0.1/h', '100.64.0.1 is a CGNAT address'],
    ['https://[fe80::1]/h', 'fe80::1 is a link-local address'],
    ['https://[fd00::1]/h', 'fd00::1 is a private address'],
    ['https://[::1]/h', '::1 is a loopback address'],
    ['https://0.0.0.0/h', '0.0.0.0 is an unspecified address'],
    ['https://localhost/h', 'localhost resolves to 127.0.0.1, a loopback address'],
    ['http://hooks.example.com/h', 'http:// is refused'],
  ])('refuses %s at creation', async (url, why) => {
    const r = await configure(url);
    expect([r.status, r.body.error.code, r.body.error.field]).toEqual([400, 'target_refused', 'url']);
    expect(r.body.detail).toContain(why);
  });

  it('refuses a private url on update too', async () => {
    await writeAndReload(true);
    expect((await configure(`${rx.url}/ok`)).status).toBe(201);
    await writeAndReload(false);
    const r = await replay(t.url(''), req.update_webhook!, { body: '{"url": "https://10.0.0.1/h"}' });
    expect([r.status, r.body.error.code]).toEqual([400, 'target_refused']);
  });

  it('checks again at delivery: a name that resolves to loopback now is refused on the connection', async () => {
    await writeAndReload(true);
    const made = await replay(t.url(''), req.configure_webhook!, {
      body: req.configure_webhook!.body.replace('https://hooks.example.com/ascend', `https://localhost:${new URL(rx.url).port}/rebound`),
    });
    expect(made.status).toBe(201);
    await writeAndReload(false);
    const before = rx.received.length;
    const tested = await replay(t.url(''), req.test_webhook!, { path: `/api/webhooks/${made.body.webhook_id}/test` });
    expect(tested.body).toMatchObject({ success: false, status_code: null, error: expect.stringContaining('localhost resolves to 127.0.0.1, a loopback address') });
    // The outbox path too: an approval event for it is dead-lettered with the guard's reason.
    const asked = await call(t.url(''), 'POST', '/api/authorization/agent-action', KEYS.billing, { action_type: 'payments.refund', resource: 'refund/r-ssrf', parameters: { amount: 5000 } });
    expect(asked.body.decision).toBe('pending');
    const dead = await waitFor(async () => (await call(t.url(''), 'GET', '/api/webhooks/dead-letters', KEYS.admin)).body.items.find((d: any) => d.url === `https://localhost:${new URL(rx.url).port}/…`), { what: 'dead letter' });
    expect(dead).toMatchObject({ event: 'action.pending', last_error: expect.stringContaining('localhost resolves to 127.0.0.1') });
    expect(rx.received.length).toBe(before);
  });

  async function writeAndReload(allow: boolean): Promise<void> {
    writeFileSync(t.configPath, yaml(allow));
    expect((await t.app.reload('test')).result).toBe('success');
  }
});
