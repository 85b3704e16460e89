/**
 * Signed requests, the ASCEND SDK's scheme: requests the SDK (2.3.0) signed itself
 * (test/fixtures/sdk/signed-2.3.0.json — floats such as 1.0, non-ASCII and astral keys and
 * values), replayed at the server's clock of their own timestamp; then tampering, replays
 * outside the 5-minute window, unsigned and malformed requests, and secrets from a file and an
 * environment variable checked against signatures computed here from hand-written canonical text.
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/errors.js';
import { runtimeFromText } from '../src/config/runtime.js';
import { startApp, type TestApp } from './helpers/app.js';
import { keyDigest, KEYS } from './helpers/api.js';
import { header, loadSdkFixture, replay, type ReplayChanges } from './helpers/sdk.js';
import { tempDir } from './helpers/tmp.js';

const SDK = loadSdkFixture('signed-2.3.0.json');
const req = SDK.requests;
const FILE_SECRET = 'billing-file-secret';
const ENV_SECRET = 'fred-env-secret';
const ENV_NAME = 'ASCEND_TEST_FRED_SIGNING_SECRET';
const dir = tempDir('ascend-signing-');

const keysYaml = (fileSecret: string, envName: string) => `api_keys:
  - {name: ops, role: admin, sha256: "${keyDigest(KEYS.admin)}", signing_secret: "${SDK.signing_secret}"}
  - {name: billing, role: agent, agent_id: billing-agent, sha256: "${keyDigest(KEYS.billing)}", signing_secret: {file: "${fileSecret}"}}
  - {name: fred, role: approver, groups: [finance-manager], sha256: "${keyDigest(KEYS.finance)}", signing_secret: {env: ${envName}}}
  - {name: fiona, role: approver, groups: [finance-manager], sha256: "${keyDigest(KEYS.finance2)}"}
`;

let t: TestApp;
let clock = 0;
const at = (name: string, offsetMs = 0) => { clock = Date.parse(header(req[name]!, 'X-Request-Timestamp')!) + offsetMs; };
const sdk = (name: string, changes?: ReplayChanges) => replay(t.url(''), req[name]!, changes);
/** The SDK's evaluate_action body, sent to the sidecar's own evaluation route. */
const evaluate = (changes: ReplayChanges = {}) => sdk('evaluate_action', { path: '/api/authorization/agent-action', ...changes });

beforeAll(async () => {
  const secretFile = join(dir, 'billing.secret');
  writeFileSync(secretFile, `${FILE_SECRET}\n`);
  process.env[ENV_NAME] = ENV_SECRET;
  const yaml = `store: {path: ${JSON.stringify(join(dir, 'data', 'ascend.db'))}}\napi: {allow_private_webhook_targets: true}\n${keysYaml(secretFile, ENV_NAME)}`;
  t = await startApp(yaml, { dir, app: { now: () => clock } });
});
afterAll(() => t?.close());

describe("the SDK's signed requests", () => {
  it('accepts configure_webhook and update_webhook (a non-ASCII secret) as the SDK signed them', async () => {
    at('configure_webhook');
    expect((await sdk('configure_webhook')).status).toBe(201);
    at('update_webhook');
    const r = await sdk('update_webhook');
    expect([r.status, r.body.events]).toEqual([200, ['action.approved', 'agent.trust_changed']]);
  });

  it('accepts the evaluate_action body: floats like 1.0 and -0.0, a 20-digit integer, non-ASCII and astral keys', async () => {
    at('evaluate_action');
    expect(req.evaluate_action!.body).toContain('"zeta": 1.0');
    const r = await evaluate();
    expect([r.status, r.body.decision]).toEqual([200, expect.stringMatching(/^(allowed|denied|pending)$/)]);
  });

  it('signs the canonical form, not the bytes: whitespace may change, a number\'s spelling may not', async () => {
    at('evaluate_action');
    expect((await evaluate({ body: req.evaluate_action!.body.replaceAll(', "', ',\n   "') })).status).toBe(200);
    for (const body of [req.evaluate_action!.body.replace('"amount": 2.5', '"amount": 2.50'), req.evaluate_action!.body.replace('"amount": 2.5', '"amount": 250')]) {
      const r = await evaluate({ body });
      expect([r.status, r.body.error.code, r.body.detail]).toEqual([401, 'invalid_signature', expect.stringContaining('mismatch')]);
    }
  });

  it('refuses a wrong signature with the reason', async () => {
    at('configure_webhook');
    const sig = header(req.configure_webhook!, 'X-Signature')!;
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    const r = await sdk('configure_webhook', { headers: { 'X-Signature': flipped } });
    expect([r.status, r.body.error.code, r.body.detail]).toEqual([401, 'invalid_signature', expect.stringContaining('mismatch')]);
  });

  it.each([
    ['301 s later (a replay)', 301_000, 401],
    ['301 s earlier', -301_000, 401],
    ['299 s later (an SDK retry resends the same headers)', 299_000, 200],
  ])('a timestamp %s', async (_name, offset, status) => {
    at('evaluate_action', offset);
    const r = await evaluate();
    expect(r.status).toBe(status);
    if (status === 401) expect(r.body.detail).toContain('stale');
  });

  it.each([
    ['without X-Signature', { 'X-Signature': undefined }, 'missing: X-Signature'],
    ['without X-Request-Timestamp', { 'X-Request-Timestamp': undefined }, 'missing: X-Request-Timestamp'],
    ['with a signature in another scheme', { 'X-Signature': 'v0=abc' }, 'malformed: X-Signature'],
    ['with a timestamp without an offset', { 'X-Request-Timestamp': '2026-12-06T23:58:55.983678' }, 'malformed: X-Request-Timestamp'],
  ])('refuses a body %s', async (_name, headers, why) => {
    at('evaluate_action');
    const r = await evaluate({ headers });
    expect([r.status, r.body.error.code, r.body.detail]).toEqual([401, 'invalid_signature', expect.stringContaining(why)]);
  });

  it('refuses a signed body with a key twice (what is verified must be what is read)', async () => {
    at('configure_webhook');
    const body = req.configure_webhook!.body.replace('{"url"', '{"agent_id": "other", "url"');
    const r = await sdk('configure_webhook', { body });
    expect([r.status, r.body.detail]).toEqual([401, expect.stringContaining('malformed: the body cannot be signed (duplicate key "agent_id"')]);
  });

  it('accepts what the SDK does not sign: GET, bodiless POST and DELETE, and {}', async () => {
    at('list_webhooks');
    for (const name of ['list_webhooks', 'update_webhook_empty', 'test_webhook', 'delete_webhook']) {
      expect(header(req[name]!, 'X-Signature'), name).toBeUndefined();
      const r = await sdk(name);
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(200);
    }
  });
});

describe('secrets from a file and an environment variable', () => {
  const mac = (secret: string, ts: string, canonical: string) => `v1=${createHmac('sha256', secret).update(`${ts}.${canonical}`).digest('hex')}`;
  const post = (path: string, key: string, raw: string, headers: Record<string, string>) =>
    fetch(t.url(path), { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', ...headers }, body: raw }).then(async (r) => ({ status: r.status, body: await r.json() as any }));

  it('the agent key signs with its file secret (Unix-seconds timestamp, raw UTF-8, keys out of order)', async () => {
    clock = 1_796_600_000_000;
    const ts = String(clock / 1000);
    const raw = '{"resource":"refund/r-9","action_type":"payments.refund","parameters":{"note":"café","amount":1.0}}';
    const canonical = '{"action_type": "payments.refund", "parameters": {"amount": 1.0, "note": "caf\\u00e9"}, "resource": "refund/r-9"}';
    const ok = await post('/api/authorization/agent-action', KEYS.billing, raw, { 'x-request-timestamp': ts, 'x-signature': mac(FILE_SECRET, ts, canonical) });
    expect([ok.status, ok.body.decision]).toEqual([200, expect.any(String)]);
    const wrong = await post('/api/authorization/agent-action', KEYS.billing, raw, { 'x-request-timestamp': ts, 'x-signature': mac(`${FILE_SECRET}\n`, ts, canonical) });
    expect(wrong.status).toBe(401);
  });

  it('the approver key signs its vote with the environment secret; a key without one needs no signature', async () => {
    clock = 1_796_600_000_000;
    const ts = new Date(clock).toISOString().replace('Z', '+00:00');
    const raw = '{"comment": "ok \\u2713"}';
    const signed = await post('/api/approvals/apr_unknown/approve', KEYS.finance, raw, { 'x-request-timestamp': ts, 'x-signature': mac(ENV_SECRET, ts, raw) });
    expect([signed.status, signed.body.error.code]).toEqual([404, 'not_found']);
    const unsigned = await post('/api/approvals/apr_unknown/approve', KEYS.finance, raw, {});
    expect([unsigned.status, unsigned.body.error.code]).toEqual([401, 'invalid_signature']);
    const other = await post('/api/approvals/apr_unknown/approve', KEYS.finance2, raw, {});
    expect([other.status, other.body.error.code]).toEqual([404, 'not_found']);
  });

  it('a missing variable or file is a config error naming the field', () => {
    const yaml = keysYaml(join(dir, 'no-such-file'), 'ASCEND_TEST_UNSET_VARIABLE');
    delete process.env.ASCEND_TEST_UNSET_VARIABLE;
    const err = (() => { try { runtimeFromText(yaml, 'bad.yaml', 1); } catch (e) { return e; } return undefined; })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['api_keys[1].signing_secret.file', 'api_keys[2].signing_secret.env']);
  });

  it('no secret reaches a log line', () => {
    const text = JSON.stringify(t.logs);
    for (const s of [SDK.signing_secret!, FILE_SECRET, ENV_SECRET]) expect(text).not.toContain(s);
  });
});
