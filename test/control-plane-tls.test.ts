/**
 * TLS to the control plane (evaluator.tls), all real processes: a control-plane sidecar serving
 * HTTPS that requires a client certificate (server.http_tls with require_client_cert), and edges
 * that verify it with a CA and present a client certificate — for remote evaluation and for
 * bundle polls. A wrong CA or a missing client certificate is a control plane that cannot
 * answer (fail_mode); a CA file fixed on disk is picked up by a reload.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyDigest } from './helpers/api.js';
import { TestPki, type Issued } from './helpers/certs.js';
import { sample } from './helpers/http.js';
import { metricsOf } from './helpers/metrics.js';
import { CLI, spawnSidecar, type Sidecar } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

vi.setConfig({ testTimeout: 90_000 });

const dir = tempDir('ascend-cp-tls-');
const GATEWAY_KEY = 'k-edge-tls-gateway-31';
const env = { EDGE_KEY: GATEWAY_KEY };

let pki: TestPki;
let rogue: TestPki;
let edgeCert: Issued;
let cp: Sidecar;
const edges: Sidecar[] = [];

const ROUTES = `
identity: {sources: [{header: x-agent-id}]}
routes:
  - match: {methods: [GET], path: "/v1/orders/**"}
    action_type: orders.read
    resource: "{path}"
  - match: {path: "/admin/**"}
    action_type: admin.access
    resource: "{path}"
`;

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** An edge config; `tls` is the evaluator.tls flow mapping, `evaluator` extra evaluator fields. */
function edgeYaml(tls: string | undefined, evaluator = `mode: remote, url: "https://127.0.0.1:${cp.httpPort}"`): string {
  return `
fail_mode: closed
decision_log: {enabled: false}
evaluator: {${evaluator}, api_key: {env: EDGE_KEY}, timeout_ms: 2000, stale_if_error_ms: 0${tls === undefined ? '' : `, tls: ${tls}`}}
${ROUTES}`;
}

async function edge(name: string, yaml: string): Promise<Sidecar> {
  const e = await spawnSidecar(write(`${name}.yaml`, yaml), [], env, { readyTimeoutMs: 90_000 });
  edges.push(e);
  return e;
}

async function forwardAuth(e: Sidecar, uri: string): Promise<{ status: number; code: string | undefined; decision: string | null }> {
  const res = await fetch(`http://127.0.0.1:${e.httpPort}/forward-auth`, {
    headers: { 'x-forwarded-method': 'GET', 'x-forwarded-host': 'api.example.com', 'x-forwarded-uri': uri, 'x-forwarded-proto': 'https', 'x-agent-id': 'crawler' },
  });
  const text = await res.text();
  return { status: res.status, code: text === '' ? undefined : (JSON.parse(text) as { code?: string }).code, decision: res.headers.get('x-ascend-decision') };
}

const tlsOf = (ca: string, cert?: Issued) => `{ca_file: ${JSON.stringify(ca)}${cert === undefined ? '' : `, cert_file: ${JSON.stringify(cert.cert)}, key_file: ${JSON.stringify(cert.key)}`}}`;

beforeAll(async () => {
  pki = new TestPki(dir);
  rogue = new TestPki(dir, 'rogue');
  const server = pki.server('cp');
  edgeCert = pki.issue('edge', { cn: 'edge-eu-1', san: 'URI:spiffe://example.org/edge/eu-1', usage: 'clientAuth' });
  const keys = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'signing.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'public.pem'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
  const path = write('cp.yaml', `
server: {http_tls: {cert_file: ${JSON.stringify(server.cert)}, key_file: ${JSON.stringify(server.key)}, client_ca_file: ${JSON.stringify(pki.caFile)}, require_client_cert: true}}
api_keys: [{name: edge, role: gateway, sha256: "${keyDigest(GATEWAY_KEY)}"}]
bundles: {signing_key_file: signing.pem, names: [default]}
decision_log: {enabled: false}
default_decision: deny
policies:
  - {id: pol_admin_deny, priority: 100, conditions: {action_type: admin.access}, action: deny}
  - {id: pol_orders_read, priority: 10, conditions: {action_type: orders.read}, action: allow}
${ROUTES}`);
  cp = await spawnSidecar(path, [], {}, { readyTimeoutMs: 90_000 });
}, 120_000);

afterAll(async () => {
  await Promise.all(edges.map((e) => e.stop()));
  await cp?.stop();
});

describe('evaluator.tls', () => {
  it('verifies the control plane with ca_file and presents the client certificate (mTLS): decisions flow', async () => {
    const e = await edge('edge-mtls', edgeYaml(tlsOf(pki.caFile, edgeCert)));
    expect(await forwardAuth(e, '/v1/orders/o-1')).toMatchObject({ status: 200, decision: 'allowed' });
    expect(await forwardAuth(e, '/admin/users')).toMatchObject({ status: 403, code: 'policy_deny' });
    const m = await metricsOf(e.httpPort);
    expect(sample(m, 'ascend_remote_requests_total', { outcome: 'ok' })).toBe(2);
  });

  it('a control plane certificate the CA does not verify: answered per fail_mode (closed: control_plane_unavailable)', async () => {
    const e = await edge('edge-wrong-ca', edgeYaml(tlsOf(rogue.caFile, edgeCert)));
    expect(await forwardAuth(e, '/v1/orders/o-2')).toMatchObject({ status: 403, code: 'control_plane_unavailable' });
    const m = await metricsOf(e.httpPort);
    expect(sample(m, 'ascend_remote_requests_total', { outcome: 'error' })).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'ascend_remote_requests_total', { outcome: 'ok' })).toBe(0);
  });

  it('an edge without a client certificate is refused by a control plane that requires one', async () => {
    const e = await edge('edge-no-cert', edgeYaml(tlsOf(pki.caFile)));
    expect(await forwardAuth(e, '/v1/orders/o-3')).toMatchObject({ status: 403, code: 'control_plane_unavailable' });
    const m = await metricsOf(e.httpPort);
    expect(sample(m, 'ascend_remote_requests_total', { outcome: 'ok' })).toBe(0);
  });

  it('re-reads the files on reload: a CA fixed on disk and SIGHUP, and the control plane answers', async () => {
    const ca = join(dir, 'edge-reload-ca.crt');
    copyFileSync(rogue.caFile, ca);
    const e = await edge('edge-reload', edgeYaml(tlsOf(ca, edgeCert)));
    expect((await forwardAuth(e, '/v1/orders/o-4')).code).toBe('control_plane_unavailable');
    copyFileSync(pki.caFile, ca);
    e.proc.kill('SIGHUP');
    await e.waitForLine((l) => l.msg === 'config reloaded');
    await waitFor(async () => (await forwardAuth(e, '/v1/orders/o-5')).decision === 'allowed', { everyMs: 100, what: 'the reloaded CA to verify the control plane' });
  });

  it('polls a policy bundle over the same TLS', async () => {
    const e = await edge('edge-bundle', edgeYaml(tlsOf(pki.caFile, edgeCert),
      `mode: local, bundle: {url: "https://127.0.0.1:${cp.httpPort}/api/v1/bundles/default", public_key_file: ${JSON.stringify(join(dir, 'public.pem'))}, cache_file: ${JSON.stringify(join(dir, 'edge-bundle.json'))}}`));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${e.httpPort}/readyz`)).status === 200, { everyMs: 100, what: 'the bundle to activate' });
    expect(await forwardAuth(e, '/v1/orders/o-6')).toMatchObject({ status: 200, decision: 'allowed' });
    expect(await forwardAuth(e, '/admin/users')).toMatchObject({ status: 403, code: 'policy_deny' });
  });

  it('validate names the bad field: an unreadable CA, a certificate without its key, TLS on an http:// url', () => {
    const run = (yaml: string) => spawnSync(process.execPath, [CLI, 'validate', '--config', write('bad.yaml', yaml)], { encoding: 'utf8', env: { ...process.env, ...env } });
    const missing = run(edgeYaml(`{ca_file: ${JSON.stringify(join(dir, 'nope.crt'))}}`));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/evaluator\.tls\.ca_file: cannot read .*nope\.crt: file not found/);
    const noKey = run(edgeYaml(`{cert_file: ${JSON.stringify(edgeCert.cert)}}`));
    expect(noKey.stderr).toMatch(/evaluator\.tls\.key_file: is required with cert_file/);
    const notPem = run(edgeYaml(`{ca_file: ${JSON.stringify(join(dir, 'cp.yaml'))}}`));
    expect(notPem.stderr).toMatch(/evaluator\.tls\.ca_file: is not a PEM CA certificate/);
    const plain = run(edgeYaml(tlsOf(pki.caFile), 'mode: remote, url: "http://127.0.0.1:1"'));
    expect(plain.stderr).toMatch(/evaluator\.url: is http:\/\/ but evaluator\.tls is set/);
  });
});
