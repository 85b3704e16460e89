/**
 * The Node and Python receivers in docs/webhooks.md, run as written against real deliveries:
 * the docs cannot drift from the signing scheme without this failing. Each must print an event
 * once, accept a redelivery without printing it again — also a captured delivery replayed with
 * a new (unsigned) x-event-id — and refuse tampering.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/approvals/store/sqlite/sqlite-store.js';
import { WebhookDeliveryWorker } from '../src/events/delivery.js';
import { EventPublisher } from '../src/events/publisher.js';
import { webhookHeaders } from '../src/events/signing.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';
import { describeWith } from './helpers/tools.js';

const dir = tempDir('ascend-docs-');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function block(lang: 'python' | 'js'): string {
  const md = readFileSync(new URL('../docs/webhooks.md', import.meta.url), 'utf8');
  const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(md);
  if (!m) throw new Error(`no ${lang} block in docs/webhooks.md`);
  return m[1]!;
}

/** Starts a receiver that prints its port first, then one line per event; resolves to its URL. */
async function start(cmd: string, args: string[], out: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  // Whole lines: print() may write an argument and the newline separately.
  createInterface({ input: proc.stdout! }).on('line', (l) => { if (l) out.push(l); });
  const port = await waitFor(() => out[0], { what: `${cmd} receiver port` });
  return { proc, url: `http://127.0.0.1:${port}/hooks` };
}

/** The receiver behaviour both samples must have; `printed(event)` counts its output lines for an event. */
async function exercise(url: string, out: string[], db: string): Promise<void> {
  const printed = (event: string) => out.filter((l) => l.startsWith(`${event} `)).length;
  const store = new SqliteStore({ path: join(dir, db) });
  const subscriptions = () => [{ url, events: ['*' as const], secret: 's3cret' }];
  const publisher = new EventPublisher({ subscriptions, store });
  const worker = new WebhookDeliveryWorker({ store, subscriptions });
  await publisher.publish('action.pending', { approval_id: 'apr_docs' });
  expect(await worker.runOnce()).toEqual(['delivered']);
  await waitFor(() => out.some((l) => l.startsWith('action.pending apr_docs')), { what: 'receiver output' });
  await store.close();

  const body = JSON.stringify({ id: 'evt_t', event: 'action.denied', created_at: new Date().toISOString(), data: {} });
  const headers = webhookHeaders('s3cret', 'evt_t', body, Date.now());
  const post = (h: Record<string, string>, b = body) => fetch(url, { method: 'POST', headers: h, body: b }).then((r) => r.status);
  expect(await post(headers)).toBe(204);
  expect(await post(headers)).toBe(204); // a redelivery: accepted, not printed again
  // A captured delivery replayed with another x-event-id still verifies (headers are not signed).
  expect(await post({ ...headers, 'x-event-id': 'evt_replayed' })).toBe(204);
  expect(await post(headers, body.replace('denied', 'approved'))).toBe(401);
  expect(await post(webhookHeaders('s3cret', 'evt_t', body, Date.now() - 301_000))).toBe(401);
  expect(await post(webhookHeaders('other', 'evt_t', body, Date.now()))).toBe(401);
  // A different event (new signed id) is printed: the receiver is still answering in order.
  const next = JSON.stringify({ id: 'evt_u', event: 'action.approved', created_at: new Date().toISOString(), data: {} });
  expect(await post(webhookHeaders('s3cret', 'evt_u', next, Date.now()), next)).toBe(204);
  await waitFor(() => printed('action.approved') === 1 || undefined, { what: 'the last event' });
  expect(printed('action.denied')).toBe(1);
}

describe('docs/webhooks.md Node receiver', () => {
  const out: string[] = [];
  let proc: ChildProcess | undefined;
  let url = '';

  beforeAll(async () => {
    // `import ... from 'ascend-sidecar'` resolves to this package (its dist, built by npm test).
    const home = join(dir, 'node-receiver');
    mkdirSync(join(home, 'node_modules'), { recursive: true });
    symlinkSync(ROOT, join(home, 'node_modules', 'ascend-sidecar'), 'dir');
    const code = block('js');
    const listen = ".listen(9999, '127.0.0.1');";
    if (!code.includes(listen)) throw new Error(`the Node sample no longer ends with ${listen}`);
    writeFileSync(join(home, 'receiver.mjs'), code.replace(listen, ".listen(0, '127.0.0.1', function () { console.log(this.address().port); });"));
    ({ proc, url } = await start(process.execPath, [join(home, 'receiver.mjs')], out, { ASCEND_WEBHOOK_SECRET: 's3cret' }));
  });
  afterAll(() => { proc?.kill(); });

  it('accepts our deliveries, prints each event once (replays too), and rejects tampering', async () => {
    await exercise(url, out, 'node.db');
  });
});

describeWith('python3', 'docs/webhooks.md Python receiver', () => {
  const out: string[] = [];
  let proc: ChildProcess | undefined;
  let url = '';

  beforeAll(async () => {
    writeFileSync(join(dir, 'receiver.py'), block('python'));
    // Import the example as a module (its __main__ server is skipped) and serve it on port 0.
    const harness = `import sys\nsys.path.insert(0, ${JSON.stringify(dir)})\nimport receiver\nfrom http.server import HTTPServer\n`
      + `srv = HTTPServer(("127.0.0.1", 0), receiver.Hook)\nprint(srv.server_address[1], flush=True)\nsrv.serve_forever()\n`;
    ({ proc, url } = await start('python3', ['-c', harness], out));
  });
  afterAll(() => { proc?.kill(); });

  it('accepts our deliveries, prints each event once (replays too), and rejects tampering', async () => {
    await exercise(url, out, 'python.db');
  });
});
