/**
 * Where an edge's decisions come from, switched by a config reload (SIGHUP), never a restart —
 * real processes: two control-plane sidecars with different policies (the second also serving
 * signed bundles) and one edge whose own file decides otherwise again. The edge goes local →
 * remote (control plane 1) → remote (control plane 2: another url) → local with a bundle (from
 * control plane 2) → local; after each reload the same request is decided by the new source,
 * never by a cached answer of the old one (the edge's cache TTL is a minute).
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyDigest } from './helpers/api.js';
import { sample } from './helpers/http.js';
import { metricsOf, metricValue } from './helpers/metrics.js';
import { spawnSidecar, type Sidecar } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

vi.setConfig({ testTimeout: 120_000 });

const dir = tempDir('ascend-evaluator-reload-');
const GATEWAY_KEY = 'k-edge-reload-gateway-8';
const keys = generateKeyPairSync('ed25519');
writeFileSync(join(dir, 'signing.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(join(dir, 'public.pem'), keys.publicKey.export({ type: 'spki', format: 'pem' }));

const ROUTES = `
identity: {sources: [{header: x-agent-id}]}
routes:
  - {match: {methods: [GET], path: "/v1/orders/**"}, action_type: orders.read, resource: "{path}"}
`;

/** A control plane deciding orders.read with `action` under policy `id`. */
function controlPlane(name: string, id: string, action: 'allow' | 'deny', extra = ''): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `
api_keys: [{name: edge, role: gateway, sha256: "${keyDigest(GATEWAY_KEY)}"}]
decision_log: {enabled: false}
cache: {ttl_ms: 60000}
default_decision: deny
policies: [{id: ${id}, priority: 10, conditions: {action_type: orders.read}, action: ${action}}]
${extra}${ROUTES}`);
  return path;
}

let cp1: Sidecar;
let cp2: Sidecar;
let edge: Sidecar;
const edgePath = join(dir, 'edge.yaml');

/** The edge's file: its own policy (allow, pol_edge_orders) and the evaluator given. */
function writeEdge(evaluator: string): void {
  writeFileSync(edgePath, `
decision_log: {enabled: false}
cache: {ttl_ms: 60000}
default_decision: deny
policies: [{id: pol_edge_orders, priority: 10, conditions: {action_type: orders.read}, action: allow}]
evaluator: {${evaluator}}
${ROUTES}`);
}

let reloads = 0;
async function reloadEdge(evaluator: string): Promise<void> {
  writeEdge(evaluator);
  edge.proc.kill('SIGHUP');
  reloads++;
  await waitFor(() => edge.lines.filter((l) => l.msg === 'config reloaded').length >= reloads, { everyMs: 50, what: `reload ${reloads}` });
}

/** The same forward-auth request every time: which policy decided it, and how. */
async function ask(): Promise<{ decision: string | null; policy: string | null }> {
  const res = await fetch(`http://127.0.0.1:${edge.httpPort}/forward-auth`, {
    headers: { 'x-forwarded-method': 'GET', 'x-forwarded-host': 'api.example.com', 'x-forwarded-uri': '/v1/orders/o-1', 'x-forwarded-proto': 'https', 'x-agent-id': 'crawler' },
  });
  await res.arrayBuffer();
  return { decision: res.headers.get('x-ascend-decision'), policy: res.headers.get('x-ascend-policy-id') };
}

async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${edge.httpPort}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  [cp1, cp2] = await Promise.all([
    spawnSidecar(controlPlane('cp1', 'pol_cp1_orders', 'deny'), [], {}, { readyTimeoutMs: 90_000 }),
    spawnSidecar(controlPlane('cp2', 'pol_cp2_orders', 'allow', 'bundles: {signing_key_file: signing.pem, names: [default]}\n'), [], {}, { readyTimeoutMs: 90_000 }),
  ]);
  writeEdge('mode: local');
  edge = await spawnSidecar(edgePath, ['--no-watch'], { EDGE_KEY: GATEWAY_KEY }, { readyTimeoutMs: 90_000 });
}, 150_000);

afterAll(async () => {
  await Promise.all([edge?.stop(), cp1?.stop(), cp2?.stop()]);
});

describe('switching the evaluator by reload', () => {
  it('local → remote → another url → bundle → local, each decided by the new source at once', async () => {
    const key = 'api_key: {env: EDGE_KEY}, timeout_ms: 2000, stale_if_error_ms: 0';
    expect(await ask()).toEqual({ decision: 'allowed', policy: 'pol_edge_orders' });
    expect(await ask()).toEqual({ decision: 'allowed', policy: 'pol_edge_orders' }); // cached locally

    await reloadEdge(`mode: remote, url: "http://127.0.0.1:${cp1.httpPort}", ${key}`);
    expect(await ask()).toEqual({ decision: 'denied', policy: 'pol_cp1_orders' });
    expect(await ask()).toEqual({ decision: 'denied', policy: 'pol_cp1_orders' }); // cached from control plane 1
    expect((await readyz()).body).toMatchObject({ status: 'ready', control_plane: 'available' });

    await reloadEdge(`mode: remote, url: "http://127.0.0.1:${cp2.httpPort}", ${key}`);
    expect(await ask()).toEqual({ decision: 'allowed', policy: 'pol_cp2_orders' });

    // Bundle on: control plane 2's policy, decided here; no more remote calls.
    await reloadEdge(`mode: local, ${key}, bundle: {url: "http://127.0.0.1:${cp2.httpPort}/api/v1/bundles/default", public_key_file: public.pem, poll_interval_s: 1, cache_file: ${JSON.stringify(join(dir, 'bundle.json'))}}`);
    await waitFor(async () => (await readyz()).status === 200 && typeof (await readyz()).body.bundle === 'string', { everyMs: 100, what: 'the bundle to activate' });
    const remoteOk = async () => sample(await metricsOf(edge.httpPort), 'ascend_remote_requests_total', { outcome: 'ok' });
    const calls = await remoteOk();
    expect(await ask()).toEqual({ decision: 'allowed', policy: 'pol_cp2_orders' });
    expect(await remoteOk()).toBe(calls);
    expect((await readyz()).body.control_plane).toBeUndefined();
    await edge.waitForLine((l) => l.msg === 'policy bundle activated');

    // Bundle off: the file decides again; polling stops.
    await reloadEdge('mode: local');
    expect(await ask()).toEqual({ decision: 'allowed', policy: 'pol_edge_orders' });
    const r = await readyz();
    expect([r.status, r.body.bundle]).toEqual([200, undefined]);
    const polls = (m: string) => ['activated', 'not_modified', 'unchanged', 'fetch_failed'].reduce((n, result) => n + (sample(m, 'ascend_bundle_updates_total', { result }) ?? 0), 0);
    const before = polls(await metricsOf(edge.httpPort));
    await new Promise((res) => setTimeout(res, 2500));
    expect(polls(await metricsOf(edge.httpPort))).toBe(before);
    expect(metricValue(await metricsOf(edge.httpPort), 'ascend_bundle_active')).toBe(0);
  });

  it('turning a bundle on by reload: not ready until it is active when the control plane is away, the kept bundle runs once it is', async () => {
    const key = 'api_key: {env: EDGE_KEY}';
    // The bundle kept by the previous test, its control plane now unreachable: the kept one runs.
    await reloadEdge(`mode: local, ${key}, bundle: {url: "http://127.0.0.1:1/api/v1/bundles/default", public_key_file: public.pem, poll_interval_s: 1, cache_file: ${JSON.stringify(join(dir, 'bundle.json'))}}`);
    await waitFor(async () => typeof (await readyz()).body.bundle === 'string', { everyMs: 100, what: 'the kept bundle to run' });
    expect(await ask()).toEqual({ decision: 'allowed', policy: 'pol_cp2_orders' });
    // Nothing kept and no control plane: not ready.
    await reloadEdge(`mode: local, ${key}, bundle: {url: "http://127.0.0.1:1/api/v1/bundles/default", public_key_file: public.pem, poll_interval_s: 1, cache_file: ${JSON.stringify(join(dir, 'none.json'))}}`);
    const r = await readyz();
    expect([r.status, r.body.status]).toEqual([503, 'waiting_for_bundle']);
    await reloadEdge('mode: local');
    expect((await readyz()).status).toBe(200);
  });
});
