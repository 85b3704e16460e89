/**
 * Signed policy bundles, real processes: a control-plane sidecar serving its policy as an
 * ed25519-signed bundle, and edge sidecars (evaluator.bundle) that poll it, verify it, run it,
 * keep it on disk and start from it while the control plane is down. A tampering relay (an HTTP
 * server in this process) stands between an edge and the control plane to alter what it serves.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyDigest } from './helpers/api.js';
import { AuthzClient } from './helpers/grpc-client.js';
import { sample } from './helpers/http.js';
import { metricsOf } from './helpers/metrics.js';
import { spawnSidecar, type Sidecar } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

// Each test starts sidecar processes: on a loaded machine that alone takes seconds.
vi.setConfig({ testTimeout: 90_000 });

const dir = tempDir('ascend-bundles-');
const GATEWAY_KEY = 'k-edge-bundles-0451';
const ADMIN_KEY = 'k-admin-bundles-99';
const keys = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
writeFileSync(join(dir, 'signing.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(join(dir, 'public.pem'), keys.publicKey.export({ type: 'spki', format: 'pem' }));

const CONTROL_PLANE = `
api_keys:
  - {name: edge, role: gateway, sha256: "${keyDigest(GATEWAY_KEY)}"}
  - {name: ops, role: admin, sha256: "${keyDigest(ADMIN_KEY)}"}
bundles: {signing_key_file: signing.pem, names: [default, eu]}
webhooks: [{url: "https://hooks.example.com/secret-token-in-path", events: ["*"], secret: whsec-never-in-a-bundle}]
decision_log: {enabled: false}
default_decision: deny
agents: [{id: billing-agent, type: supervised}]
routes:
  - {match: {methods: [GET], path: "/v1/orders/**"}, action_type: orders.read, resource: "{path}"}
  - {match: {path: "/admin/**"}, action_type: admin.access, resource: "{path}"}
policies:
  - {id: pol_admin_deny, priority: 100, conditions: {action_type: admin.access}, action: deny}
  - {id: pol_orders_read, priority: 10, conditions: {action_type: orders.read}, action: allow}
`;

/** An edge: no policies or routes of its own — they come from the bundle. */
function edgeConfig(name: string, url: string, cacheFile: string, publicKey = 'public.pem'): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `
decision_log: {enabled: false}
default_decision: deny
identity: {sources: [{header: x-agent-id}]}
evaluator:
  mode: local
  api_key: {env: EDGE_KEY}
  bundle: {url: "${url}", public_key_file: ${publicKey}, poll_interval_s: 1, cache_file: ${JSON.stringify(cacheFile)}}
`);
  return path;
}

let cp: Sidecar;
const procs: Sidecar[] = [];
const servers: Server[] = [];
const env = { EDGE_KEY: GATEWAY_KEY };

async function edge(name: string, url: string, cacheFile = join(dir, `${name}.bundle.json`), publicKey?: string): Promise<Sidecar> {
  const e = await spawnSidecar(edgeConfig(name, url, cacheFile, publicKey), [], env, { readyTimeoutMs: 90_000 });
  procs.push(e);
  return e;
}

async function forwardAuth(e: Sidecar, uri: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${e.httpPort}/forward-auth`, {
    headers: { 'x-forwarded-method': 'GET', 'x-forwarded-host': 'api.example.com', 'x-forwarded-uri': uri, 'x-agent-id': 'crawler' },
  });
  await res.arrayBuffer();
  return res.status;
}

async function readyz(e: Sidecar): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${e.httpPort}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function updates(e: Sidecar, result: string): Promise<number> {
  const m = await metricsOf(e.httpPort);
  return sample(m, 'ascend_bundle_updates_total', { result }) ?? 0;
}

/** An HTTP server in front of the control plane's bundle that can rewrite what it serves. */
async function relay(rewrite: { current: ((envelope: Record<string, string>) => Record<string, string>) | undefined }): Promise<string> {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`http://127.0.0.1:${cp.httpPort}${req.url}`, { headers: { 'x-api-key': String(req.headers['x-api-key'] ?? '') } });
      const text = await upstream.text();
      const body = rewrite.current === undefined ? text : JSON.stringify(rewrite.current(JSON.parse(text) as Record<string, string>));
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body);
    })();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/bundles/default`;
}

/** The control plane's bundle as an edge keeps it on disk (the envelope as served). */
async function keptBundle(file: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${cp.httpPort}/api/v1/bundles/default`, { headers: { 'x-api-key': GATEWAY_KEY } });
  writeFileSync(file, await r.text());
  return file;
}

beforeAll(async () => {
  const path = join(dir, 'cp.yaml');
  writeFileSync(path, CONTROL_PLANE);
  cp = await spawnSidecar(path, [], {}, { readyTimeoutMs: 90_000 });
}, 120_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  for (const s of servers) s.close();
  await cp?.stop();
});

describe('the control plane serves its policy as a signed bundle', () => {
  it('with an ETag, a 304 for If-None-Match, and no keys or secrets', async () => {
    const url = `http://127.0.0.1:${cp.httpPort}/api/v1/bundles/default`;
    const r = await fetch(url, { headers: { 'x-api-key': GATEWAY_KEY } });
    expect(r.status).toBe(200);
    const etag = r.headers.get('etag')!;
    const text = await r.text();
    const env = JSON.parse(text) as { payload: string; signature: string };
    const payload = JSON.parse(env.payload) as { name: string; content: Record<string, unknown> };
    expect(etag).toBe(`"${createHash('sha256').update(env.payload).digest('hex')}"`);
    expect(payload.name).toBe('default');
    expect(Object.keys(payload.content).sort()).toEqual(['agents', 'default_decision', 'mode', 'policies', 'risk', 'routes']);
    for (const secret of [keyDigest(GATEWAY_KEY), keyDigest(ADMIN_KEY), 'whsec-never-in-a-bundle', 'secret-token-in-path', 'signing.pem']) expect(text).not.toContain(secret);
    const again = await fetch(url, { headers: { 'x-api-key': GATEWAY_KEY, 'if-none-match': etag } });
    expect([again.status, await again.text()]).toEqual([304, '']);
    expect((await fetch(`http://127.0.0.1:${cp.httpPort}/api/v1/bundles/nope`, { headers: { 'x-api-key': GATEWAY_KEY } })).status).toBe(404);
    expect((await fetch(url)).status).toBe(401);
  });
});

describe('an edge running the bundle', () => {
  it('is not ready until a bundle is active, then decides with it and keeps it on disk', async () => {
    const cacheFile = join(dir, 'edge-a.bundle.json');
    const e = await edge('edge-a', `http://127.0.0.1:${cp.httpPort}/api/v1/bundles/default`, cacheFile);
    await waitFor(async () => (await readyz(e)).status === 200, { what: 'the bundle to be active' });
    expect((await readyz(e)).body.bundle).toMatch(/^[0-9a-f]{64}$/);
    expect(await forwardAuth(e, '/v1/orders/o-1')).toBe(200);
    expect(await forwardAuth(e, '/admin/users')).toBe(403);
    expect(existsSync(cacheFile)).toBe(true);
    // Later polls are 304s.
    await waitFor(async () => (await updates(e, 'not_modified')) >= 1, { what: 'a 304 poll' });
    expect(await updates(e, 'activated')).toBe(1);
  });

  it('refuses a tampered bundle and one signed by another key, logs and counts it, and keeps the running policy', async () => {
    const rewrite: { current: ((env: Record<string, string>) => Record<string, string>) | undefined } = { current: undefined };
    const url = await relay(rewrite);
    const e = await edge('edge-tamper', url);
    await waitFor(async () => (await readyz(e)).status === 200, { what: 'the bundle to be active' });
    expect(await forwardAuth(e, '/admin/users')).toBe(403);
    // The payload altered to allow admin access; the signature left as it was.
    rewrite.current = (env) => ({ ...env, payload: env.payload!.replace('"action":"deny"', '"action":"allow"') });
    await e.waitForLine((l) => l.msg === 'policy bundle refused; the running policy stays' && l.result === 'refused_signature');
    expect(await forwardAuth(e, '/admin/users')).toBe(403);
    // Re-signed, but with a key the edge does not trust.
    rewrite.current = (env) => {
      const payload = env.payload!.replace('"action":"deny"', '"action":"allow"');
      return { ...env, payload, signature: sign(null, Buffer.from(payload), other.privateKey).toString('base64') };
    };
    await waitFor(async () => (await updates(e, 'refused_signature')) >= 2, { what: 'a second refusal' });
    expect(await forwardAuth(e, '/admin/users')).toBe(403);
    // Signed with the right key but not a valid policy: refused as invalid, naming the field.
    rewrite.current = (env) => {
      const payload = env.payload!.replace('"action":"deny"', '"action":"obliterate"');
      return { ...env, payload, signature: sign(null, Buffer.from(payload), keys.privateKey).toString('base64') };
    };
    const invalid = await e.waitForLine((l) => l.result === 'refused_invalid');
    expect(String(invalid.reason)).toContain('policies[0].action');
    expect(await forwardAuth(e, '/admin/users')).toBe(403);
    expect((await readyz(e)).status).toBe(200);
  });

  it('starts from the kept bundle while the control plane is down; without one it is not ready', async () => {
    const down = 'http://127.0.0.1:9/api/v1/bundles/default'; // the discard port: nothing listens
    const cold = await edge('edge-cold', down, await keptBundle(join(dir, 'kept-cold.json')));
    expect((await readyz(cold)).status).toBe(200);
    expect(await forwardAuth(cold, '/v1/orders/o-1')).toBe(200);
    expect(await forwardAuth(cold, '/admin/users')).toBe(403);
    await waitFor(async () => (await updates(cold, 'fetch_failed')) >= 1, { what: 'a failed poll' });
    expect((await readyz(cold)).status).toBe(200);

    const empty = await edge('edge-empty', down, join(dir, 'nothing-kept.json'));
    await waitFor(async () => (await updates(empty, 'fetch_failed')) >= 1, { what: 'a failed poll' });
    const r = await readyz(empty);
    expect([r.status, r.body.status]).toEqual([503, 'waiting_for_bundle']);
    // gRPC health says the same (Envoy health checks, grpc-health-probe), and SERVING with a bundle.
    for (const [e, want] of [[empty, 'NOT_SERVING'], [cold, 'SERVING']] as const) {
      const grpc = new AuthzClient(e.grpcPort, { ownConnection: true });
      try {
        expect((await grpc.healthCheck()).status).toBe(want);
      } finally {
        grpc.close();
      }
    }
  });

  it('refuses a kept bundle signed for another name or that no longer verifies', async () => {
    const down = 'http://127.0.0.1:9/api/v1/bundles/eu';
    const kept = await keptBundle(join(dir, 'kept-refused.json'));
    const e = await edge('edge-eu', down, kept);
    const refused = await e.waitForLine((l) => l.result === 'refused_wrong_name');
    expect(refused.from).toBe('disk');
    expect((await readyz(e)).status).toBe(503);
    const otherKey = join(dir, 'other-public.pem');
    writeFileSync(otherKey, other.publicKey.export({ type: 'spki', format: 'pem' }));
    const e2 = await edge('edge-other-key', 'http://127.0.0.1:9/api/v1/bundles/default', kept, 'other-public.pem');
    await e2.waitForLine((l) => l.result === 'refused_signature' && l.from === 'disk');
    expect((await readyz(e2)).status).toBe(503);
  });

  it('swaps a new bundle in like a reload: no cached decision of the old one survives; SIGHUP on the edge keeps the bundle', async () => {
    const e = await edge('edge-swap', `http://127.0.0.1:${cp.httpPort}/api/v1/bundles/default`);
    await waitFor(async () => (await readyz(e)).status === 200, { what: 'the bundle to be active' });
    expect(await forwardAuth(e, '/v1/orders/o-7')).toBe(200);
    expect(await forwardAuth(e, '/v1/orders/o-7')).toBe(200); // now cached
    // The edge's own reload recomposes its file with the active bundle.
    e.proc.kill('SIGHUP');
    await e.waitForLine((l) => l.msg === 'config reloaded');
    expect(await forwardAuth(e, '/v1/orders/o-7')).toBe(200);
    // The control plane's policy changes: orders are no longer readable.
    const path = join(dir, 'cp.yaml');
    writeFileSync(path, CONTROL_PLANE.replace('conditions: {action_type: orders.read}, action: allow', 'conditions: {action_type: orders.read}, action: deny'));
    cp.proc.kill('SIGHUP');
    try {
      await waitFor(async () => (await updates(e, 'activated')) >= 2, { timeoutMs: 30_000, what: 'the new bundle' });
      expect(await forwardAuth(e, '/v1/orders/o-7')).toBe(403);
    } finally {
      writeFileSync(path, CONTROL_PLANE);
      cp.proc.kill('SIGHUP');
    }
  });
});
