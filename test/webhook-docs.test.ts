/**
 * The Python receiver in docs/webhooks.md, run as written (stdlib only) against real deliveries:
 * the docs cannot drift from the signing scheme without this failing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

function pythonBlock(): string {
  const md = readFileSync(new URL('../docs/webhooks.md', import.meta.url), 'utf8');
  const m = /```python\n([\s\S]*?)```/.exec(md);
  if (!m) throw new Error('no python block in docs/webhooks.md');
  return m[1]!;
}

describeWith('python3', 'docs/webhooks.md Python receiver', () => {
  let proc: ChildProcess;
  let url = '';
  const out: string[] = [];

  beforeAll(async () => {
    writeFileSync(join(dir, 'receiver.py'), pythonBlock());
    // Import the example as a module (its __main__ server is skipped) and serve it on port 0.
    const harness = `import sys\nsys.path.insert(0, ${JSON.stringify(dir)})\nimport receiver\nfrom http.server import HTTPServer\n`
      + `srv = HTTPServer(("127.0.0.1", 0), receiver.Hook)\nprint(srv.server_address[1], flush=True)\nsrv.serve_forever()\n`;
    proc = spawn('python3', ['-c', harness], { stdio: ['ignore', 'pipe', 'ignore'] });
    // Whole lines: with PYTHONUNBUFFERED set, print() writes each argument and the newline
    // separately, so one read can end mid-line.
    createInterface({ input: proc.stdout! }).on('line', (l) => { if (l) out.push(l); });
    const port = await waitFor(() => out[0], { what: 'python receiver port' });
    url = `http://127.0.0.1:${port}/hooks`;
  });
  afterAll(() => { proc?.kill(); });

  it('accepts our deliveries, prints each event once, and rejects tampering', async () => {
    const store = new SqliteStore({ path: join(dir, 'docs.db') });
    const subscriptions = () => [{ url, events: ['*' as const], secret: 's3cret' }];
    const publisher = new EventPublisher({ subscriptions, store });
    const worker = new WebhookDeliveryWorker({ store, subscriptions });
    await publisher.publish('action.pending', { approval_id: 'apr_docs' });
    expect(await worker.runOnce()).toEqual(['delivered']);
    await waitFor(() => out.includes('action.pending apr_docs'), { what: 'receiver output' });

    const body = JSON.stringify({ id: 'evt_t', event: 'action.denied', created_at: new Date().toISOString(), data: {} });
    const headers = webhookHeaders('s3cret', 'evt_t', body, Date.now());
    const post = (h: Record<string, string>, b = body) => fetch(url, { method: 'POST', headers: h, body: b }).then((r) => r.status);
    expect(await post(headers)).toBe(204);
    expect(await post(headers)).toBe(204); // a redelivery: accepted, not printed again
    expect(await post(headers, body.replace('denied', 'approved'))).toBe(401);
    expect(await post(webhookHeaders('s3cret', 'evt_t', body, Date.now() - 301_000))).toBe(401);
    expect(await post(webhookHeaders('other', 'evt_t', body, Date.now()))).toBe(401);
    await waitFor(() => out.includes('action.denied None'), { what: 'second event' });
    expect(out.filter((l) => l.startsWith('action.denied'))).toHaveLength(1);
    await store.close();
  });
});
