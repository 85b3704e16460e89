/**
 * The h2 gRPC transport against peers nobody here wrote: gRPC C-core (Debian's python3-grpcio,
 * the core under grpc's Python, C++, Ruby and PHP clients), nghttp2's h2load, curl and
 * grpc-js. Each runs as the real program on a real socket to a real sidecar.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, writeConfig, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { checkRequestBytes, frame, h2Call } from './helpers/h2.js';
import { metricValue, scrape, waitFor } from './helpers/metrics.js';
import { spawnSidecar } from './helpers/process.js';
import { describeWith, systemTool } from './helpers/tools.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const CONFIG = CORE.replace('server: {grpc_port: 9191, http_port: 8181}', 'server: {grpc_port: 9191, http_port: 8181, grpc_transport: h2}');
const ALLOW = checkRequestBytes({ method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'billing-agent' } });
const DENY = checkRequestBytes({ method: 'DELETE', path: '/admin/users/7', headers: { 'x-agent-id': 'billing-agent' } });
const CHECK_URL = (port: number) => `http://127.0.0.1:${port}/envoy.service.auth.v3.Authorization/Check`;
const CLIENT = new URL('./interop/ccore_client.py', import.meta.url).pathname;

/** Runs the C-core client script with `scenario`; resolves to what it printed. */
export function ccore(port: number, scenario: 'basic' | 'load' | 'drain', load?: Record<string, number>): Promise<Record<string, unknown>> {
  const python = systemTool('grpcio').path as string;
  return new Promise((resolve, reject) => {
    const child = spawn(python, [CLIENT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`ccore_client.py exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as Record<string, unknown>);
    });
    child.stdin.end(JSON.stringify({ port, scenario, load, allow: Buffer.from(ALLOW).toString('hex'), deny: Buffer.from(DENY).toString('hex') }));
  });
}

let t: TestApp;
beforeAll(async () => {
  t = await startApp(CONFIG);
});
afterAll(async () => {
  await t.close();
});

describeWith('grpcio', 'gRPC C-core (python3-grpcio) as the client', () => {
  it('gets Check decisions, health Check and Watch, gzip and deadlines answered', async () => {
    const r = await ccore(t.grpcPort, 'basic');
    // C-core sends a 1 µs timeout on a connected channel as `grpc-timeout: 1m` (it rounds up to
    // its millisecond clock), and a cached allow is answered well inside 1 ms: either outcome is
    // right; any other status (a timeout header we misread, a reset) is not.
    expect(['DEADLINE_EXCEEDED', 'OK']).toContain(r.deadlinePassed);
    expect(r).toMatchObject({
      allow: 'allowed',
      deny: 'denied',
      health: true,
      healthAuthz: true,
      healthUnknown: 'NOT_FOUND',
      watchFirst: true,
      deadlineMet: 'allowed',
      gzip: 'allowed',
    });
  });

  it('loses no uncancelled call while every other call is cancelled (3 channels × 500, 8 in flight)', async () => {
    const r = await ccore(t.grpcPort, 'load');
    expect(r.lostExamples).toEqual([]);
    expect(r).toMatchObject({ answered: 750, cancelled: 750, lost: 0 });
  }, 60_000);
});

describeWith('h2load', 'nghttp2 h2load -c 64 -m 100, 20,000 requests within 25 s', () => {
  it('gets every answer, each a full CheckResponse message, with 0 errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'h2load-'));
    const body = join(dir, 'check.bin');
    writeFileSync(body, frame(ALLOW));
    const before = metricValue(await scrape(t.url('/metrics')), 'ascend_authz_decisions_total{adapter="envoy",decision="allowed"}');
    const one = await h2Call(t.grpcPort, frame(ALLOW));
    expect(one.grpcStatus).toBe('0');
    const { stdout: out } = await promisify(execFile)('nice', ['-n', '10', 'h2load', '-c', '64', '-m', '100', '-t', '1', '-n', '20000', '-d', body,
      '-H', 'content-type: application/grpc', '-H', 'te: trailers', CHECK_URL(t.grpcPort)], { maxBuffer: 1 << 20, timeout: 25_000 });
    const m = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
    expect(m, out).not.toBeNull();
    const [done, succeeded, failed, errored] = [m![3], m![4], m![5], m![6]].map(Number) as [number, number, number, number];
    expect({ failed, errored, succeeded }).toEqual({ failed: 0, errored: 0, succeeded: done });
    expect(done).toBe(20_000);
    // Every answer a whole message: the DATA bytes are exactly one framed CheckResponse each.
    const data = Number(/\((\d+)\) data/.exec(out)?.[1]);
    const after = metricValue(await scrape(t.url('/metrics')), 'ascend_authz_decisions_total{adapter="envoy",decision="allowed"}');
    expect(after - before - 1).toBe(done);
    expect(data, `${data} DATA bytes over ${done} answers of ${one.body.length}`).toBe(done * one.body.length);
  }, 30_000);
});

describeWith('curl', 'curl --http2-prior-knowledge', () => {
  it('gets a Check answered with the gRPC headers and a CheckResponse', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'curl-'));
    const body = join(dir, 'check.bin');
    writeFileSync(body, frame(DENY));
    const { stdout } = await promisify(execFile)('curl', ['-sS', '--http2-prior-knowledge', '-D', '-', '-o', join(dir, 'out.bin'), '--data-binary', `@${body}`,
      '-H', 'content-type: application/grpc', '-H', 'te: trailers', CHECK_URL(t.grpcPort)]);
    expect(stdout).toMatch(/^HTTP\/2 200/);
    expect(stdout).toMatch(/content-type: application\/grpc/);
    const answer = readFileSync(join(dir, 'out.bin'));
    expect(answer.readUInt32BE(1)).toBe(answer.length - 5);
    expect(answer.toString('latin1')).toContain('x-ascend-decision\x12\x06denied');
  });
});

describe('grpc-js as the client', () => {
  it('gets allow and deny answered on one connection', async () => {
    const c = new AuthzClient(t.grpcPort, { ownConnection: true });
    try {
      expect(decisionOf(await c.check({ method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'billing-agent' } }))).toBe('allowed');
      expect(decisionOf(await c.check({ method: 'DELETE', path: '/admin/users/7', headers: { 'x-agent-id': 'billing-agent' } }))).toBe('denied');
    } finally {
      c.close();
    }
  });
});

/** h2load's request counts from its summary line. */
function h2loadCounts(out: string): { done: number; succeeded: number; failed: number; errored: number } {
  const m = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  if (m === null) throw new Error(`no h2load summary in: ${out}`);
  const [done, succeeded, failed, errored] = m.slice(1).map(Number) as [number, number, number, number];
  return { done, succeeded, failed, errored };
}

describeWith(['grpcio', 'h2load'], 'SIGTERM under C-core and h2load load (a real sidecar process)', () => {
  it('answers every call it took before exiting 0: decisions logged = answers received', async () => {
    const { path, dir } = writeConfig(CORE.replace('server: {grpc_port: 9191, http_port: 8181}', 'server: {grpc_port: 9191, http_port: 8181, grpc_transport: h2, drain_timeout_ms: 10000}'));
    const s = await spawnSidecar(path, ['--no-watch']);
    try {
      const body = join(dir, 'check.bin');
      writeFileSync(body, frame(ALLOW));
      const decisions = () => s.lines.filter((l) => l.kind === 'decision').length;
      // C-core first (Python takes a while to start), then h2load beside it.
      const core = ccore(s.grpcPort, 'drain');
      await waitFor(() => decisions() >= 300, 30_000, 10);
      const h2load = spawn('h2load', ['-c', '16', '-m', '20', '-t', '1', '-n', '10000000', '-d', body,
        '-H', 'content-type: application/grpc', '-H', 'te: trailers', CHECK_URL(s.grpcPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      h2load.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const h2loadDone = new Promise<void>((resolve) => h2load.on('close', () => resolve()));
      await waitFor(() => decisions() >= 3300, 30_000, 10);
      s.proc.kill('SIGTERM');
      expect(await s.exited).toBe(0);
      const [c] = await Promise.all([core, h2loadDone]);
      const h = h2loadCounts(out);
      // Every decision the server made reached its client whole: nothing in flight was lost.
      const answered = (c.answered as number) + h.succeeded;
      expect({ logged: decisions(), answered }).toEqual({ logged: answered, answered });
      // The load did run on both clients, and across the signal.
      expect(c.answered as number).toBeGreaterThan(100);
      expect(h.succeeded).toBeGreaterThan(100);
      // C-core's failures are calls that found the server gone, never a call cut off mid-way.
      for (const f of c.failures as string[]) expect(f).toMatch(/^UNAVAILABLE/);
    } finally {
      await s.stop('SIGKILL');
    }
  }, 90_000);
});
