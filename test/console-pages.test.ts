/**
 * The console's other pages in headless Chromium against a real sidecar (real SQLite, real gRPC
 * checks): the kill switch from the agents page (with its confirmation) denies the agent's next
 * check; live decisions arrive over SSE and filter; policy hit counts; a dead letter requeued
 * from the webhooks page; an action's page lists the webhooks sent about it. Each page is also checked at phone width (390 px) for overflow.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { KEYS, storeConfig } from './helpers/api.js';
import { consolePage, DESKTOP, fitsWidth, launchChromium, PHONE, screenshot, watchForScripts } from './helpers/browser.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';
import { describeWith } from './helpers/tools.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const refund = (amount: number, id: string, agent = 'billing-agent') => ({ method: 'POST', path: `/v1/refunds/${id}?amount=${amount}`, headers: { 'x-agent-id': agent } });

describeWith('chromium', 'console pages in headless Chromium', () => {
  let t: TestApp;
  let authz: AuthzClient;
  let browser: Browser;
  let receiver: Receiver;
  const dir = tempDir('ascend-console-pages-');

  beforeAll(async () => {
    mkdirSync(join(dir, 'app'), { recursive: true });
    receiver = await startReceiver('receiver-secret');
    // A subscription nobody answers, with one attempt: its deliveries become dead letters. And
    // one a local receiver answers.
    const extra = `webhooks: [{url: "http://127.0.0.1:9/hooks", events: ["*"], secret: s3cret-never-shown}, {url: "${receiver.url}/approvals", events: ["action.pending"], secret: receiver-secret}]\nwebhook_delivery: {max_attempts: 1, timeout_ms: 500}\nconsole: {login_attempts_per_minute: 100}`; // ~15 logins from one address
    t = await startApp(storeConfig(join(dir, 'app'), CORE, extra), { dir: join(dir, 'app') });
    authz = new AuthzClient(t.grpcPort);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    authz?.close();
    await t?.close();
    await receiver?.close();
  });

  const login = (key: string, hash: string, viewport = DESKTOP) => consolePage(browser, t.url(`/console${hash}`), key, viewport);

  it('blocks an agent from the agents page after a confirmation; its next check is denied; lifts it', async () => {
    expect(decisionOf(await authz.check(refund(10, 'k-1')))).toBe('allowed');
    const page = await login(KEYS.admin, '#/agents');
    const seen = watchForScripts(page);
    const row = page.locator('[data-testid="agent-row"][data-agent-id="billing-agent"]');
    await row.waitFor();
    // Audit rows reach the store in batches: reload until the check is among the recent decisions.
    await waitFor(async () => {
      await page.reload();
      await row.waitFor();
      return (await row.locator('details li').allTextContents()).some((li) => li.includes('allowed: payments.refund on refund/k-1'));
    }, { timeoutMs: 10_000 });
    await row.getByTestId('kill-switch').click();
    expect(await row.getByTestId('kill-confirm').count()).toBe(1); // nothing happened yet
    expect(decisionOf(await authz.check(refund(10, 'k-2')))).toBe('allowed');
    await row.getByTestId('kill-reason').fill('runaway refunds');
    await row.getByTestId('kill-confirm').click();
    await page.getByText('billing-agent blocked').waitFor();
    expect(await row.locator('[data-field="kill-switch"]').innerText()).toContain('BLOCKED by ops: runaway refunds');
    const blocked = await authz.check(refund(10, 'k-3'));
    expect(decisionOf(blocked)).toBe('denied');
    await screenshot(page, 'agents-1280');
    await row.getByTestId('unblock').click();
    await page.getByText('Block on billing-agent lifted').waitFor();
    expect(decisionOf(await authz.check(refund(10, 'k-4')))).toBe('allowed');
    expect(seen).toEqual({ dialogs: [], errors: [] });
    await page.context().close();
  });

  it('an approver sees agents but no kill switch', async () => {
    const page = await login(KEYS.finance, '#/agents');
    await page.locator('[data-testid="agent-row"]').first().waitFor();
    expect(await page.getByTestId('kill-switch').count()).toBe(0);
    await page.context().close();
  });

  it('streams decisions live and filters them by decision, agent and adapter', async () => {
    const page = await login(KEYS.viewer, '#/decisions');
    await page.getByRole('heading', { name: 'Live decisions' }).waitFor();
    const before = await page.getByTestId('decision-row').count();
    await authz.check(refund(20, 'd-1'));
    await authz.check({ method: 'GET', path: '/admin/users', headers: { 'x-agent-id': 'crawler' } });
    await waitFor(async () => (await page.getByTestId('decision-row').count()) >= before + 2, { timeoutMs: 10_000 });
    await page.getByTestId('filter-decision').selectOption('denied');
    const denied = page.getByTestId('decision-row');
    expect(await denied.count()).toBeGreaterThan(0);
    for (const d of await denied.all()) expect(await d.getAttribute('data-decision')).toBe('denied');
    expect(await denied.first().innerText()).toContain('admin.access');
    await page.getByTestId('filter-decision').selectOption('');
    await page.getByTestId('filter-agent').fill('crawler');
    for (const d of await page.getByTestId('decision-row').all()) expect(await d.innerText()).toContain('crawler');
    await page.getByTestId('filter-agent').fill('');
    await page.getByTestId('filter-adapter').selectOption('envoy');
    expect(await page.getByTestId('decision-row').count()).toBeGreaterThan(0);
    await screenshot(page, 'decisions-1280');
    await page.context().close();
  });

  it('counts policy hits', async () => {
    const page = await login(KEYS.viewer, '#/policies');
    const hits = page.locator('[data-testid="policy-row"][data-policy-id="pol_admin_deny"] [data-field="hits"]');
    await hits.waitFor();
    const n = Number(await hits.innerText());
    expect(n).toBeGreaterThan(0);
    await authz.check({ method: 'GET', path: '/admin/x', headers: { 'x-agent-id': 'crawler' } });
    await waitFor(async () => Number(await hits.innerText()) === n + 1, { timeoutMs: 10_000 });
    await page.context().close();
  });

  it('shows subscriptions without secrets, and requeues a dead letter (admins)', async () => {
    expect(decisionOf(await authz.check(refund(5000, 'w-1')))).toBe('pending'); // action.pending → a dead letter
    const page = await login(KEYS.admin, '#/webhooks');
    await page.getByTestId('webhook-row').first().waitFor();
    const text = await page.locator('main').innerText();
    expect(text).not.toContain('s3cret-never-shown');
    await waitFor(async () => {
      await page.reload();
      await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
      return (await page.getByTestId('dead-letter-row').count()) > 0;
    }, { timeoutMs: 15_000 });
    const first = page.getByTestId('dead-letter-row').first();
    const id = await first.getAttribute('data-dead-letter-id');
    await first.getByTestId('requeue').click();
    await page.getByText(`Delivery ${id} queued again`).waitFor();
    await screenshot(page, 'webhooks-1280');
    await page.context().close();
  });

  it("lists the webhooks sent about an action on its page: delivered to the receiver, dead for the other", async () => {
    const res = await authz.check(refund(5000, 'wa-1'));
    expect(decisionOf(res)).toBe('pending');
    const actionId = header(res, 'x-ascend-action-id')!;
    await waitFor(() => receiver.received.some((r) => r.body.includes(actionId)), { timeoutMs: 15_000 });
    const page = await login(KEYS.viewer, `#/actions/${actionId}`);
    const rows = page.getByTestId('webhook-delivery');
    await waitFor(async () => {
      await page.reload();
      await page.locator('#action-title').waitFor();
      const states = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
      return states.includes('delivered') && states.includes('dead');
    }, { timeoutMs: 15_000 });
    const delivered = page.locator('[data-testid="webhook-delivery"][data-state="delivered"]');
    const text = await delivered.innerText();
    expect(text).toContain('action.pending');
    expect(text).toMatch(/cfg_[0-9a-f]{12}/);
    expect(text).toContain('http://127.0.0.1:'); // masked: scheme and host only
    expect(text).not.toContain('/approvals');
    expect(await delivered.locator('td').nth(3).innerText()).toBe('1');
    expect(await delivered.locator('td').nth(5).innerText()).not.toBe('—');
    const dead = page.locator('[data-testid="webhook-delivery"][data-state="dead"]');
    expect(await dead.locator('td').nth(4).innerText()).not.toBe(''); // its last error (port 9 is refused)
    expect(await page.locator('main').innerText()).not.toContain('receiver-secret');
    await screenshot(page, 'action-webhooks-1280');
    await page.context().close();
  });

  it('shows the executive brief with its risk chart, and serves it as one HTML file', async () => {
    const page = await login(KEYS.viewer, '#/brief');
    await waitFor(async () => {
      await page.reload();
      await page.getByTestId('posture').waitFor();
      return (await page.getByTestId('brief-agent').allTextContents()).some((t) => t.startsWith('billing-agent'));
    }, { timeoutMs: 15_000 });
    expect(await page.locator('main svg.chart').count()).toBe(1);
    expect(await page.getByTestId('posture').innerText()).toMatch(/Decisions\s+\d+ \(/);
    const file = await page.evaluate(async () => {
      const r = await fetch('/console/api/brief.html?since=1d');
      return [r.status, r.headers.get('content-disposition') ?? '', (await r.text()).slice(0, 15)];
    });
    expect(file[0]).toBe(200);
    expect(file[1]).toMatch(/^attachment; filename="ascend-brief-\d{4}-\d\d-\d\d\.html"$/);
    expect(file[2]).toBe('<!doctype html>');
    await screenshot(page, 'brief-1280');
    await page.context().close();
  }, 60_000);

  it('fits phone width on every page', async () => {
    for (const hash of ['#/approvals', '#/agents', '#/decisions', '#/policies', '#/webhooks', '#/brief']) {
      const page = await login(KEYS.admin, hash, PHONE);
      await page.locator('main h1').first().waitFor();
      expect(await page.evaluate(fitsWidth), hash).toBe(true);
      await screenshot(page, `phone-${hash.slice(2)}`);
      await page.context().close();
    }
  }, 90_000);
});
