#!/usr/bin/env node
// Does creating approvals slow the checks that need no store? (Not CI.) One sidecar with a
// SQLite store (core.yaml + store:), pinned like every benchmark here. Each round:
//
//   idle: a cached allow, serial (h2load 1×1), for --idle seconds → p50 idle;
//   load: the same serial cached allows while h2client creates --approvals new approvals as
//         fast as it can (--c × --m in flight: pending refunds, each with its own agent and
//         refund id) → p50 of the cached allows that STARTED while the approvals were being
//         created (h2load's per-request log lined up with h2client's window).
//
// Reported per round and as medians: p50 load ÷ p50 idle, measured in the same process minutes
// apart. Target (the red team's finding: 0.49 ms → 118 ms): ratio ≤ 10 and p50 under load ≤ 20 ms.
// Also checks that every round really created its approvals (ascend_approvals_pending).
//
//   node bench/approvals-load.mjs                      # 3 rounds of 1,000 approvals
//   node bench/approvals-load.mjs --rounds 5 --approvals 1000 --c 4 --m 8
//   BENCH_SIDECAR_CMD='node /old/dist/cli.js serve --config {config} --grpc-port {grpcPort} --http-port {httpPort}' node bench/approvals-load.mjs
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkRequest, encodeFrame, refund, writeFramePack } from './lib/frames.mjs';
import { runH2client } from './lib/h2client.mjs';
import { runH2load } from './lib/h2load.mjs';
import { machineInfo, machineLine } from './lib/report.mjs';
import { CORE_CONFIG } from './lib/gen-config.mjs';
import { sidecarArgv, ServerPool } from './lib/servers.mjs';
import { median, percentiles } from './lib/stats.mjs';
import { RESULTS_DIR } from './lib/suite.mjs';

const { values: o } = parseArgs({ options: {
  rounds: { type: 'string', default: '3' }, approvals: { type: 'string', default: '1000' },
  idle: { type: 'string', default: '3' }, c: { type: 'string', default: '4' }, m: { type: 'string', default: '8' },
} });
const rounds = Number(o.rounds);
const approvals = Number(o.approvals);

/** A refund over 1,000 (pol_refund_large: require_approval) by its own agent: one new approval each. */
const pendingFrame = (round, i) => encodeFrame(checkRequest({
  method: 'POST', path: `/v1/refunds/p${round}-${i}?amount=5000`, headers: { 'x-agent-id': `bench-agent-${round}-${i}` },
}));

async function pendingApprovals(httpPort) {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(/^ascend_approvals_pending (\S+)$/m.exec(text)?.[1] ?? NaN);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'approvals-load-'));
const config = path.join(work, 'config.yaml');
writeFileSync(config, `${readFileSync(CORE_CONFIG, 'utf8')}\nstore: {path: ${JSON.stringify(path.join(work, 'data', 'ascend.db'))}}\n`);
const allowFile = path.join(work, 'allow.bin');
writeFileSync(allowFile, encodeFrame(refund()));
const pool = new ServerPool({ outDir: RESULTS_DIR });
const results = [];
try {
  const server = await pool.get('approvals-load', { argv: sidecarArgv, config: { file: config }, ready: 'sidecar', requires: 'sidecar' });
  const serial = (durationS, keepRequests = false) =>
    runH2load({ port: server.grpcPort, frameFile: allowFile, mode: 'serial', durationS, keepRequests });
  await runH2load({ port: server.grpcPort, frameFile: allowFile, mode: 'saturation', durationS: 1.5, latency: false }); // JIT warm-up
  let loadS = 20; // the probe outlasts the creation; later rounds size it from the first
  for (let r = 1; r <= rounds; r++) {
    const idle = await serial(Number(o.idle));
    const frames = path.join(work, `pending-${r}.bin`);
    writeFramePack(frames, Array.from({ length: approvals }, (_, i) => pendingFrame(r, i)));
    const probe = serial(loadS, true);
    await new Promise((res) => setTimeout(res, 300)); // the probe's connection is up and answering
    const create = await runH2client({ port: server.grpcPort, framesFile: frames, mode: { c: Number(o.c), m: Number(o.m) }, requests: approvals, latency: false });
    const probed = await probe;
    const [from, to] = create.windowMs;
    const during = probed.requestLog.filter((q) => q.startMs >= from && q.startMs <= to).map((q) => q.us);
    const load = percentiles(during);
    const row = {
      round: r, idleP50Us: idle.latencyUs.p50, idleP99Us: idle.latencyUs.p99, loadP50Us: load.p50, loadP99Us: load.p99,
      ratioP50: load.p50 / idle.latencyUs.p50, cachedChecksDuring: load.samples, createSeconds: create.seconds,
      approvalsPerS: approvals / create.seconds, createErrors: create.errors, probeErrors: idle.errors + probed.errors,
      pendingAfter: await pendingApprovals(server.httpPort),
    };
    results.push(row);
    console.error(`[approvals-load] round ${r}: idle p50 ${(row.idleP50Us / 1000).toFixed(3)} ms, during creation p50 ${(row.loadP50Us / 1000).toFixed(3)} ms` +
      ` (×${row.ratioP50.toFixed(2)}, ${load.samples} checks), ${approvals} approvals in ${create.seconds.toFixed(2)} s, pending now ${row.pendingAfter}`);
    if (create.seconds > loadS) console.error(`[approvals-load]   the probe (${loadS} s) ended before the creation: only part of it was measured`);
    loadS = Math.ceil(create.seconds * 1.5) + 2;
  }
} finally {
  await pool.stopAll();
  rmSync(work, { recursive: true, force: true });
}

const med = (k) => median(results.map((x) => x[k]));
const summary = {
  idleP50Us: med('idleP50Us'), loadP50Us: med('loadP50Us'), ratioP50: med('ratioP50'), loadP99Us: med('loadP99Us'),
  approvalsPerS: med('approvalsPerS'), errors: results.reduce((s, x) => s + x.createErrors + x.probeErrors, 0),
  created: results.every((x, i) => x.pendingAfter === (i + 1) * approvals),
};
summary.meetsTarget = summary.ratioP50 <= 10 && summary.loadP50Us <= 20_000 && summary.errors === 0 && summary.created;
mkdirSync(RESULTS_DIR, { recursive: true });
const machine = machineInfo();
writeFileSync(path.join(RESULTS_DIR, 'approvals-load.json'), `${JSON.stringify({ when: new Date().toISOString(), machine, sidecar: sidecarArgv().join(' '), approvals, rounds: results, summary }, null, 1)}\n`);
console.log(`${machineLine(machine)}\n`);
const ms = (us) => (us / 1000).toFixed(3);
console.log('| round | cached allow p50 idle | p50 while creating | ratio | p99 idle → creating | approvals/s | pending after |');
console.log('|---:|---:|---:|---:|---|---:|---:|');
for (const x of results) {
  console.log(`| ${x.round} | ${ms(x.idleP50Us)} ms | ${ms(x.loadP50Us)} ms | ${x.ratioP50.toFixed(2)}× | ${ms(x.idleP99Us)} → ${ms(x.loadP99Us)} ms | ${Math.round(x.approvalsPerS)} | ${x.pendingAfter} |`);
}
console.log(`| median | ${ms(summary.idleP50Us)} ms | ${ms(summary.loadP50Us)} ms | **${summary.ratioP50.toFixed(2)}×** | → ${ms(summary.loadP99Us)} ms | ${Math.round(summary.approvalsPerS)} | ${summary.created ? 'all created' : 'NOT all created'} |`);
console.log(`target (ratio ≤ 10, p50 under load ≤ 20 ms, no errors): ${summary.meetsTarget ? 'met' : 'NOT met'}`);
process.exitCode = summary.meetsTarget ? 0 : 1;
