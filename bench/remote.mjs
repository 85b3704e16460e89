#!/usr/bin/env node
// Remote evaluation (evaluator.mode remote, issue 17 item 7), two ratios on one machine in one run:
//
//   cached:   a cached allow on an edge sidecar that asks a control plane (B) vs the same allow on
//             a sidecar that decides locally (A), gRPC saturation (16×32, h2client), alternated
//             A B A B. Target: B ≥ 0.9× A (req/s; median of per-pair ratios). Also each server's
//             CPU per answered request (/proc, the whole run: settle included), whose ratio B ÷ A
//             a machine shared with other work disturbs far less than it does req/s.
//   uncached: serial (1×1) never-seen refunds, so every check misses the edge's cache and the
//             control plane's: p50 at the edge (B) minus p50 of the same submissions sent straight
//             to the control plane's POST /api/v1/actions/submit over a keep-alive connection (A,
//             the control plane's own latency as its client sees it). Target: B − A ≤ 0.3 ms.
//             The local sidecar's uncached serial p50 is printed as a reference.
//
//   node bench/remote.mjs [--pairs 3] [--seconds 3] [--base DIR]   (nice -n 10 on a shared machine)
//
// --base DIR: a second edge runs another build (DIR/cli.js, e.g. `cp -r dist dist-base` before a
// change), asked in the same uncached rounds right after the first: `baseAddedUs` and the median
// of the paired differences (`addedMinusBaseUs`), which the machine's load weighs on alike; and
// in each cached pair after B (`base`: its req/s ratio and CPU per request against A's, and
// `cpuOverBase`, B's CPU per request ÷ the base edge's).
//
// Needs dist/cli.js (npm run build), taskset; servers on BENCH_SERVER_CPU (1), the load client on
// BENCH_LOAD_CPU (0). Everything listens on 127.0.0.1.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { encodeFrame, refund, writeFramePack } from './lib/frames.mjs';
import { runH2client } from './lib/h2client.mjs';
import { cpuSeconds, SERVER_CPU } from './lib/proc.mjs';

const { values: args } = parseArgs({ options: { pairs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '3' }, base: { type: 'string' } } });
const PAIRS = Number(args.pairs);
const SECONDS = Number(args.seconds);
const KEY = 'k-bench-edge';
const dir = mkdtempSync(join(tmpdir(), 'ascend-bench-remote-'));
const core = readFileSync(new URL('./configs/core.yaml', import.meta.url), 'utf8').replace(/^server:.*$/m, '');
const quiet = 'decision_log: {enabled: false}\n';

function write(name, text) {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A sidecar on SERVER_CPU; resolves with its ports once it listens. */
function sidecar(config, cli = 'dist/cli.js') {
  const proc = spawn('taskset', ['-c', SERVER_CPU, process.execPath, cli, 'serve', '--config', config, '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, EDGE_KEY: KEY },
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => {
      buf += c;
      for (const line of buf.split('\n')) {
        try {
          const l = JSON.parse(line);
          if (l.msg === 'ascend-sidecar listening') resolve({ proc, grpc: l.grpc_port, http: l.http_port });
        } catch { /* partial line */ }
      }
    });
    proc.on('exit', (code) => reject(new Error(`${config} exited ${code}`)));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

const cpConfig = write('cp.yaml', `${quiet}cache: {ttl_ms: 60000, max_entries: 100000}
api_keys: [{name: edge, role: gateway, sha256: "${createHash('sha256').update(KEY).digest('hex')}"}]
${core.replace(/^cache:.*$/m, '')}`);
const localConfig = write('local.yaml', `${quiet}${core}`);
const edgeConfig = (cpHttp) => write('edge.yaml', `${quiet}${core}
evaluator: {mode: remote, url: "http://127.0.0.1:${cpHttp}", api_key: {env: EDGE_KEY}, timeout_ms: 1000}
`);

const servers = [];
try {
  const cp = await sidecar(cpConfig);
  servers.push(cp);
  const [local, edge] = await Promise.all([sidecar(localConfig), sidecar(edgeConfig(cp.http))]);
  servers.push(local, edge);
  const baseEdge = args.base === undefined ? undefined : await sidecar(edgeConfig(cp.http), join(args.base, 'cli.js'));
  if (baseEdge) servers.push(baseEdge);
  const framesFile = join(dir, 'allow.frames');
  writeFramePack(framesFile, [encodeFrame(refund('r-1', 50))]);

  // ── cached: saturation, A (local) vs B (edge), alternated ──
  for (const s of [local, edge]) await runH2client({ port: s.grpc, framesFile, mode: 'saturation', durationS: 1.5 }); // warm-up (and the edge's one miss)
  if (baseEdge) await runH2client({ port: baseEdge.grpc, framesFile, mode: 'saturation', durationS: 1.5 });
  /** One saturation run: req/s, and the server's CPU µs per request answered (settle included). */
  const saturate = async (s) => {
    const c0 = cpuSeconds(s.proc.pid);
    const r = await runH2client({ port: s.grpc, framesFile, mode: 'saturation', durationS: SECONDS, settleS: 0.5, latency: false });
    return { rps: r.rps, errors: r.errors, cpuUs: ((cpuSeconds(s.proc.pid) - c0) * 1e6) / (r.served + r.settledAnswers) };
  };
  const cached = [];
  for (let i = 0; i < PAIRS; i++) {
    const a = await saturate(local);
    const b = await saturate(edge);
    const base = baseEdge === undefined ? undefined : await saturate(baseEdge);
    cached.push({
      a: a.rps, b: b.rps, ratio: b.rps / a.rps, cpuUsA: a.cpuUs, cpuUsB: b.cpuUs, cpuRatio: b.cpuUs / a.cpuUs, errors: a.errors + b.errors + (base?.errors ?? 0),
      ...(base === undefined ? {} : { base: base.rps, baseRatio: base.rps / a.rps, cpuUsBase: base.cpuUs, baseCpuRatio: base.cpuUs / a.cpuUs, cpuOverBase: b.cpuUs / base.cpuUs }),
    });
  }

  // ── uncached: serial never-seen refunds ──
  const serial = async (port, start) => (await runH2client({ port, mode: 'serial', durationS: SECONDS, freshEvery: 1, freshStart: start })).latencyUs;
  const pool = new Pool(`http://127.0.0.1:${cp.http}`, { connections: 1, pipelining: 1 });
  const direct = async (start, n) => {
    const us = [];
    for (let i = 0; i < n; i++) {
      const body = JSON.stringify({ agent_id: 'billing-agent', action_type: 'payments.refund', resource: `refund/d-${start + i}`, action_details: { amount: '50' }, context: { environment: 'production' } });
      const t0 = performance.now();
      const r = await pool.request({ path: '/api/v1/actions/submit', method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body });
      await r.body.text();
      us.push((performance.now() - t0) * 1000);
    }
    return us;
  };
  await direct(0, 500); // warm-up
  const uncached = [];
  for (let i = 0; i < PAIRS; i++) {
    const a = await direct(1_000_000 * (i + 1), 2000);
    const b = await serial(edge.grpc, 100_000 * (i + 1));
    const l = await serial(local.grpc, 500_000 + 100_000 * (i + 1));
    const base = baseEdge === undefined ? undefined : await serial(baseEdge.grpc, 2_000_000 + 100_000 * (i + 1));
    // addedUs: what the edge adds over the control plane's own latency (its gRPC hop included);
    // beyondLocalUs: what is left after also taking off a local sidecar's whole uncached check
    // (the same hop, plus an evaluation the edge does not make): the remote path's own cost.
    uncached.push({ cpP50: median(a), cpP99: pct(a, 0.99), edgeP50: b.p50, edgeP99: b.p99, localP50: l.p50, addedUs: b.p50 - median(a), beyondLocalUs: b.p50 - median(a) - l.p50, edgeSamples: b.samples, ...(base === undefined ? {} : { baseAddedUs: base.p50 - median(a), addedMinusBaseUs: b.p50 - base.p50 }) });
  }
  await pool.close();

  const r = {
    cached: {
      pairs: cached, medianRatio: median(cached.map((p) => p.ratio)), medianCpuRatio: median(cached.map((p) => p.cpuRatio)),
      ...(baseEdge === undefined ? {} : { medianBaseRatio: median(cached.map((p) => p.baseRatio)), medianBaseCpuRatio: median(cached.map((p) => p.baseCpuRatio)), medianCpuOverBase: median(cached.map((p) => p.cpuOverBase)) }),
      target: '≥ 0.9 (req/s); CPU per request ≤ 1/0.9 = 1.11',
    },
    uncached: { pairs: uncached, medianAddedUs: median(uncached.map((p) => p.addedUs)), medianBeyondLocalUs: median(uncached.map((p) => p.beyondLocalUs)), ...(baseEdge === undefined ? {} : { medianBaseAddedUs: median(uncached.map((p) => p.baseAddedUs)), medianAddedMinusBaseUs: median(uncached.map((p) => p.addedMinusBaseUs)) }), target: 'addedUs ≤ 300 µs' },
  };
  console.log(JSON.stringify(r, null, 2));
} finally {
  for (const s of servers) s.proc.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
