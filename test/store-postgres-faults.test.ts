/**
 * PostgreSQL failing under a running sidecar (the real CLI), through a TCP proxy the test
 * controls (test/helpers/tcp-proxy.ts): a server that stops answering (blackhole) and one that
 * is down (connections reset). A check that needs the store is answered per fail_mode (closed:
 * denied) inside its gRPC deadline; a check that needs none is still allowed at once; /readyz
 * shows `store: degraded`; ascend_store_errors_total{op} counts the failures; and when the
 * server is back the sidecar recovers by itself — no restart.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeConfig } from './helpers/app.js';
import { API_KEYS_YAML } from './helpers/api.js';
import { AuthzClient } from './helpers/grpc-client.js';
import { metricValue } from './helpers/metrics.js';
import { testPg } from './helpers/pg.js';
import { spawnSidecar, type Sidecar } from './helpers/process.js';
import { check as checkOn, codeOf, decision, expectClosedWhileDown, readyz as readyzOf, refund } from './helpers/store-down.js';
import { tcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const db = await testPg();
vi.setConfig({ testTimeout: 60_000 }); // several sidecar processes on a shared machine
const dir = tempDir('ascend-pg-faults-');
let proxy: TcpProxy;
let s: Sidecar;
// A failure here has been seen once in a full run and not reproduced: keep the sidecar's own
// account of it (its stderr) in the test output when a test fails.
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`sidecar stderr:\n${s?.stderr.join('') ?? '(none)'}`);
});
let c: AuthzClient;

const check = (req: ReturnType<typeof refund>, deadlineMs: number) => checkOn(c, req, deadlineMs);
const readyz = () => readyzOf(s.httpPort);
const metrics = async () => (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();

beforeAll(async () => {
  const u = new URL(db.url);
  proxy = await tcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  u.host = `127.0.0.1:${proxy.port}`;
  const { path } = writeConfig(`store: {driver: postgres, url: {env: PROXIED_PG_URL}, schema: ${db.schema('faults')}, statement_timeout_ms: 500}\n${API_KEYS_YAML}\n${CORE}`, dir);
  s = await spawnSidecar(path, ['--no-watch'], { PROXIED_PG_URL: u.toString() });
  c = new AuthzClient(s.grpcPort, { ownConnection: true });
}, 60_000);
afterAll(async () => {
  c?.close();
  await s?.stop('SIGKILL');
  await proxy?.close();
});

describe('PostgreSQL failing under a running sidecar (fail_mode closed)', () => {
  it('answers inside the deadline while the server does not answer; plain allows keep flowing', async () => {
    expect(decision((await check(refund('r-f0', 4200), 5000)).res)).toBe('pending');
    expect(await readyz()).toMatchObject({ status: 'ready', store: 'ok' });
    proxy.mode('blackhole');
    await expectClosedWhileDown(c, s.httpPort, { pendingId: 'r-f1', plainId: 'r-f2', deadlineMs: 500, slackMs: 500 });
  });

  it('answers at once while the server is down, and counts the errors by operation', async () => {
    proxy.mode('refuse');
    const pending = await check(refund('r-f3', 4200), 2000);
    expect([decision(pending.res), codeOf(pending.res)]).toEqual(['denied', 'store_error']);
    expect(pending.ms).toBeLessThan(1000);
    expect(decision((await check(refund('r-f4', 50), 500)).res)).toBe('allowed');
    const text = await metrics();
    expect(metricValue(text, 'ascend_store_errors_total{op="useLatestApproval"}')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^ascend_store_latency_seconds_bucket\{le="[^"]+",op="\w+"\}/m);
  });

  it('recovers without a restart when the server is back', async () => {
    proxy.mode('forward');
    await waitFor(async () => (await readyz()).store === 'ok', { what: '/readyz store: ok again', timeoutMs: 15_000, everyMs: 100 });
    expect(decision((await check(refund('r-f5', 4200), 5000)).res)).toBe('pending');
    expect(s.proc.exitCode).toBeNull();
  });
});
