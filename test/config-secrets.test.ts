/**
 * Secrets outside the YAML (issue 21, item 4): webhook secrets and API-key digests also take
 * `{env: NAME}` or `{file: PATH}` (relative to the config file), read at start and at every
 * reload; a missing variable or file is a config error naming the field. Checked through the
 * running app: the key authenticates, the webhook is signed with the secret from the file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/api/keys.js';
import { runtimeFromText } from '../src/config/runtime.js';
import { verifyWebhook } from '../src/index.js';
import { call } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const dir = tempDir('ascend-secrets-');
const KEY = 'k-from-a-file-1234';

describe('secrets from files and variables', () => {
  let rx: Receiver;
  let t: TestApp;
  beforeAll(async () => {
    rx = await startReceiver('hook-secret-from-file');
    writeFileSync(join(dir, 'admin.sha256'), `${sha256Hex(KEY)}\n`);
    writeFileSync(join(dir, 'hook.secret'), 'hook-secret-from-file\n');
    process.env.ASCEND_TEST_VIEWER_DIGEST = sha256Hex('k-viewer-from-env');
    t = await startApp(`
store: {path: ${JSON.stringify(join(dir, 'data', 'ascend.db'))}}
api_keys:
  - {name: ops, role: admin, sha256: {file: admin.sha256}}
  - {name: audit, role: viewer, sha256: {env: ASCEND_TEST_VIEWER_DIGEST}}
webhooks: [{url: "${rx.url}/h", events: ["*"], secret: {file: hook.secret}}]
webhook_delivery: {initial_backoff_ms: 10}
identity: {sources: [{header: x-agent-id}]}
policies: [{id: p, action: require_approval, approvers: [ops], conditions: {}}]
`, { dir });
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
    delete process.env.ASCEND_TEST_VIEWER_DIGEST;
  });

  it('an API key digest from a file and from a variable authenticates', async () => {
    expect((await call(t.url(''), 'GET', '/api/audit', KEY)).status).toBe(200);
    expect((await call(t.url(''), 'GET', '/api/audit', 'k-viewer-from-env')).status).toBe(200);
    expect((await call(t.url(''), 'GET', '/api/audit', 'wrong')).status).toBe(401);
  });

  it('a webhook is signed with the secret read from its file', async () => {
    await call(t.url(''), 'POST', '/api/authorization/agent-action', KEY, { agent_id: 'a1', action_type: 'x', resource: 'y' });
    const got = await waitFor(() => rx.received.find((r) => r.path === '/h'), { what: 'a delivery' });
    expect(got.verified.ok).toBe(true);
    expect(verifyWebhook('hook-secret-from-file', got.headers, got.body)).toBe(true);
    expect(verifyWebhook('the-wrong-secret', got.headers, got.body)).toBe(false);
  });

  it.each([
    ['a missing variable', 'webhooks: [{url: "https://h.example/x", events: ["*"], secret: {env: ASCEND_TEST_NOPE}}]', /webhooks\[0\]\.secret\.env: environment variable ASCEND_TEST_NOPE is not set/],
    ['a missing file', 'webhooks: [{url: "https://h.example/x", events: ["*"], secret: {file: nope.secret}}]', /webhooks\[0\]\.secret\.file: cannot read .*nope\.secret: file not found/],
    ['a digest file holding something else', 'api_keys: [{name: x, role: viewer, sha256: {file: hook.secret}}]', /api_keys\[0\]\.sha256\.file: must hold a SHA-256 digest/],
    ['an inline digest that is not one', 'api_keys: [{name: x, role: viewer, sha256: "abc"}]', /api_keys\[0\]\.sha256/],
  ])('%s is a config error naming the field', (_what, yaml, message) => {
    expect(() => runtimeFromText(yaml, join(dir, 'config.yaml'), 1)).toThrow(message);
  });
});
