/**
 * Webhook URLs are often secrets (Slack and Teams put the token in the path): the API shows them
 * masked to every role, and no log line — delivery failures, config errors on load or reload —
 * prints one whole. Real sidecar, real SQLite outbox, a real receiver answering 500.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const SECRET = 'whsec-urls';
const TOKEN = 'T0KEN-S3CRET';
const dir = tempDir('ascend-webhook-urls-');

let receiver: Receiver;
let t: TestApp;
let hook = '';
const webhooks = (url: string, times = 1) =>
  `webhooks: [${Array.from({ length: times }, () => `{url: "${url}", events: ["*"], secret: ${SECRET}}`).join(', ')}]`;

beforeAll(async () => {
  receiver = await startReceiver(SECRET);
  const path = `/hooks/${TOKEN}?sig=${TOKEN}`;
  hook = `${receiver.url}${path}`;
  receiver.script(path, [500]);
  t = await startApp(storeConfig(dir, CORE, `${webhooks(hook)}\nwebhook_delivery: {max_attempts: 1}`), { dir });
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

describe('webhook URLs never shown or logged whole', () => {
  it('a dead letter shows scheme://host/… and its subscription, to admins and viewers alike', async () => {
    const pending = await call(t.url(''), 'POST', '/api/authorization/agent-action', KEYS.admin, {
      agent_id: 'billing-agent', action_type: 'payments.refund', resource: 'refund/r-url', parameters: { amount: 5000 },
    });
    expect(pending.body.decision).toBe('pending');
    const list = (key: string) => call(t.url(''), 'GET', '/api/webhooks/dead-letters', key);
    await waitFor(async () => (await list(KEYS.admin)).body.items.length > 0 || undefined, { what: 'a dead letter' });
    for (const key of [KEYS.admin, KEYS.viewer]) {
      const res = await list(key);
      expect(res.body.items[0]).toMatchObject({ event: 'action.pending', url: `${receiver.url}/…`, subscription_index: 0, last_error: 'HTTP 500' });
      expect(JSON.stringify(res.body)).not.toContain(TOKEN);
    }
  });

  it('the delivery log names the host, never the whole URL', async () => {
    const dead = t.logs.find((l) => l.msg === 'webhook dead-lettered');
    expect(dead?.url).toBe(`${receiver.url}/…`);
    expect(JSON.stringify(t.logs)).not.toContain(TOKEN);
  });

  it('a reload refused for a duplicate URL logs where it is, not what it is', async () => {
    writeFileSync(t.configPath, storeConfig(dir, CORE, webhooks(hook, 2)));
    expect((await t.app.reload('test')).result).toBe('failure');
    const failed = t.logs.find((l) => l.msg === 'config reload failed; keeping the last good config');
    expect(JSON.stringify(failed)).toMatch(/duplicate webhook url http:\/\/127\.0\.0\.1:\d+\/… \(the same as webhooks\[0\]\.url/);
    expect(JSON.stringify(t.logs)).not.toContain(TOKEN);
  });

  it('so does the config error at start', async () => {
    const err = await startApp(`${CORE}\n${webhooks('https://hooks.slack.com/services/T000/B000/XXXXSECRET', 2)}\n`).catch((e: Error) => e);
    expect(String(err)).toMatch(/webhooks\[1\]\.url: duplicate webhook url https:\/\/hooks\.slack\.com\/…/);
    expect(String(err)).not.toContain('XXXXSECRET');
  });
});
