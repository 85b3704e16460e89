/**
 * Headless Chromium for the console's browser tests: Debian's /usr/bin/chromium driven by
 * playwright-core (never a downloaded browser), with the flags this kind of machine needs (no
 * sandbox in a container, no GPU, no background traffic). Screenshots go to
 * test-output/console/ (gitignored), kept after the run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { systemTool } from './tool-probe.js';

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
] as const;

export const SCREENSHOTS = join(process.cwd(), 'test-output', 'console');

export async function launchChromium(): Promise<Browser> {
  const path = systemTool('chromium').path;
  if (!path) throw new Error('chromium is missing (the test should have been skipped)');
  return chromium.launch({ executablePath: path, headless: true, args: [...CHROMIUM_FLAGS] });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Everything that would show a script ran: dialogs and page errors, collected per page. */
export function watchForScripts(page: Page): { dialogs: string[]; errors: string[] } {
  const seen = { dialogs: [] as string[], errors: [] as string[] };
  page.on('dialog', (d) => { seen.dialogs.push(d.message()); void d.dismiss(); });
  page.on('pageerror', (e) => { seen.errors.push(e.message); });
  return seen;
}

export interface Viewport { readonly width: number; readonly height: number }
export const DESKTOP: Viewport = { width: 1280, height: 900 };
export const PHONE: Viewport = { width: 390, height: 844 };

/** A page in a context of its own, logged in to the console at `url` (`…/console#/page`) with an API key. */
export async function consolePage(browser: Browser, url: string, key: string, viewport = DESKTOP): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  await page.goto(url);
  await page.getByTestId('login-key').fill(key);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('logout').waitFor();
  return page;
}

/**
 * For `page.evaluate`: true when the page is no wider than the window (no sideways scrolling).
 * It runs in the page, and this file is compiled without the DOM library, hence the cast.
 */
export const fitsWidth = (): boolean => {
  const w = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
  return w.document.documentElement.scrollWidth <= w.innerWidth;
};
