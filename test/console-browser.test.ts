/**
 * The approver console in a real headless Chromium (Debian's, via playwright-core), against a
 * real sidecar with a real SQLite store: log in with a key, see a pending action created by a
 * real gRPC ext_authz check, approve it from the page (and one by keyboard), and the gateway's
 * retry is allowed; the list updates live; a viewer sees no vote buttons and the server refuses
 * a change without the CSRF token; hostile HTML and JavaScript in parameters, resources, agent
 * names and comments are shown as text and never run. Screenshots: test-output/console/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { consolePage, DESKTOP, fitsWidth, launchChromium, PHONE, screenshot, watchForScripts } from './helpers/browser.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { tempDir } from './helpers/tmp.js';
import { describeWith } from './helpers/tools.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const refund = (amount: number, id: string) => ({ method: 'POST', path: `/v1/refunds/${id}?amount=${amount}`, headers: { 'x-agent-id': 'billing-agent' } });
const HOSTILE = [
  '<img src=x onerror="window.__pwned=1;alert(1)">',
  '"><script>window.__pwned=2;alert(2)</script>',
  '<svg onload="window.__pwned=3">',
  'javascript:window.__pwned=4',
].join(' ');

// Run in the page (this file is compiled without the DOM library).
const pwned = () => (globalThis as unknown as { __pwned?: number }).__pwned;

describeWith('chromium', 'the approver console in headless Chromium', () => {
  let t: TestApp;
  let authz: AuthzClient;
  let browser: Browser;
  const dir = tempDir('ascend-console-browser-');

  beforeAll(async () => {
    mkdirSync(join(dir, 'app'), { recursive: true });
    t = await startApp(storeConfig(join(dir, 'app'), CORE), { dir: join(dir, 'app') });
    authz = new AuthzClient(t.grpcPort);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    authz?.close();
    await t?.close();
  });

  const login = (key: string, viewport = DESKTOP) => consolePage(browser, t.url('/console'), key, viewport);

  const row = (page: Page, approvalId: string) => page.locator(`[data-testid="approval-row"][data-approval-id="${approvalId}"]`);

  it('logs in, shows the gRPC pending action, approves it with a comment, and the retry is allowed', async () => {
    const pending = await authz.check(refund(5000, 'b-1'));
    expect(decisionOf(pending)).toBe('pending');
    const approvalId = header(pending, 'x-ascend-approval-id') as string;
    const page = await login(KEYS.finance);
    const seen = watchForScripts(page);
    await row(page, approvalId).waitFor();
    const text = await row(page, approvalId).innerText();
    expect(text).toContain('payments.refund');
    expect(text).toContain('refund/b-1');
    expect(text).toContain('billing-agent');
    expect(text).toContain('Large refunds need approval');
    expect(text).toMatch(/left, then denies/);
    await screenshot(page, 'pending-1280');
    await row(page, approvalId).getByTestId('comment').fill('invoice matches');
    await row(page, approvalId).getByTestId('approve').click();
    await row(page, approvalId).waitFor({ state: 'detached' });
    expect(await page.getByRole('status').innerText()).toContain('now approved');
    const retry = await authz.check(refund(5000, 'b-1'));
    expect(decisionOf(retry)).toBe('allowed');
    const approval = await call(t.url(''), 'GET', `/api/sdk/approval/${approvalId}`, KEYS.viewer);
    expect(approval.body).toMatchObject({ status: 'approved', votes: [{ approver: 'fred', comment: 'invoice matches' }] });
    expect(seen).toEqual({ dialogs: [], errors: [] });
    await page.context().close();
  });

  it('updates the list live, and votes by keyboard (j, c, Esc, d)', async () => {
    const page = await login(KEYS.finance);
    await page.getByText('Nothing is waiting for a decision.').waitFor();
    const created = await authz.check(refund(6100, 'b-2')); // after the page loaded: arrives over SSE
    const approvalId = header(created, 'x-ascend-approval-id') as string;
    await row(page, approvalId).waitFor({ timeout: 10_000 });
    await page.locator('body').press('j');
    await page.keyboard.press('c');
    await page.keyboard.type('not this one');
    await page.keyboard.press('Escape');
    await page.keyboard.press('d');
    await row(page, approvalId).waitFor({ state: 'detached' });
    const denied = await authz.check(refund(6100, 'b-2'));
    expect(decisionOf(denied)).toBe('denied');
    await page.context().close();
  });

  it('a viewer sees no vote buttons, and a change without the CSRF token is refused', async () => {
    const pending = await authz.check(refund(7100, 'b-3'));
    const approvalId = header(pending, 'x-ascend-approval-id') as string;
    const page = await login(KEYS.viewer);
    await row(page, approvalId).waitFor();
    expect(await page.getByTestId('approve').count()).toBe(0);
    expect(await page.getByText('You are logged in as a viewer').count()).toBe(1);
    // The page's own cookie goes with a same-origin fetch; without X-CSRF-Token it is refused.
    const answer = await page.evaluate(async (id) => {
      const r = await fetch(`/console/api/approvals/${id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return [r.status, ((await r.json()) as { error: { code: string } }).error.code];
    }, approvalId);
    expect(answer).toEqual([403, 'csrf_required']);
    await screenshot(page, 'viewer');
    await page.getByTestId('logout').click();
    await page.getByTestId('login-key').waitFor();
    const after = await page.evaluate(async () => (await fetch('/console/api/session')).status);
    expect(after).toBe(401);
    await page.context().close();
  });

  it('shows hostile HTML and JavaScript from agents as text, and none of it runs (1280 px and phone width)', async () => {
    const reg = await call(t.url(''), 'POST', '/api/registry/agents', KEYS.admin, { agent_id: 'evil-agent', display_name: HOSTILE, agent_type: 'supervised' });
    expect(reg.status).toBeLessThan(300);
    const sub = await call(t.url(''), 'POST', '/api/v1/actions/submit', KEYS.admin, {
      agent_id: 'evil-agent', action_type: 'payments.refund', resource: `refund/${HOSTILE}`,
      action_details: { amount: 5000, note: HOSTILE, [HOSTILE]: 'key' }, context: { environment: HOSTILE },
    });
    expect(sub.body.decision).toBe('pending');
    const approvalId = sub.body.approval_id as string;
    for (const viewport of [DESKTOP, PHONE]) {
      const page = await login(KEYS.finance, viewport);
      const seen = watchForScripts(page);
      await row(page, approvalId).waitFor();
      await row(page, approvalId).locator('summary').click();
      const text = await row(page, approvalId).innerText();
      expect(text).toContain('<img src=x onerror=');
      expect(text).toContain('<script>window.__pwned=2');
      expect(await row(page, approvalId).locator('[data-field="agent"]').innerText()).toContain('<svg onload=');
      expect(await page.locator('main img, main script, main svg, main iframe').count()).toBe(0);
      expect(await page.evaluate(pwned)).toBeUndefined();
      // Usable at this width: nothing wider than the window.
      expect(await page.evaluate(fitsWidth)).toBe(true);
      await screenshot(page, `hostile-${viewport.width}`);
      if (viewport === PHONE) {
        // A denial with a hostile comment, shown on the action page as text.
        await row(page, approvalId).getByTestId('comment').fill(HOSTILE);
        await row(page, approvalId).getByTestId('deny').click();
        await row(page, approvalId).waitFor({ state: 'detached' });
        await page.goto(t.url(`/console#/actions/${sub.body.action_id as string}`));
        await page.getByRole('heading', { name: /Approval/ }).waitFor();
        expect(await page.locator('main').innerText()).toContain('"><script>window.__pwned=2');
        expect(await page.locator('main img, main script, main svg').count()).toBe(0);
        expect(await page.evaluate(pwned)).toBeUndefined();
        await screenshot(page, 'action-detail-390');
      }
      expect(seen).toEqual({ dialogs: [], errors: [] });
      await page.context().close();
    }
  });
});
