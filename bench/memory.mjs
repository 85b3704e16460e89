#!/usr/bin/env node
// Memory under 1M distinct actions: is the decision cache bounded?
//
// Drives N never-seen refund ids (f-000000000, f-000000001, …: one distinct action each)
// through the gRPC port with h2client, in chunks, and samples the server's RSS (VmRSS summed
// over its process tree, from /proc) after each chunk. The bare grpc-js server gets the same
// load first: its RSS under this load (116–159 MiB in two 1M runs here, from V8 heap sizing alone) is the
// floor the sidecar's figure should be read against. The sidecar runs the contract config with
// `cache: {ttl_ms: 3600000, max_entries: 100000}` so nothing expires during the run: the cache
// fills to max_entries after 100k requests and must then evict — RSS should go flat there.
//
// Heap: process.memoryUsage() is not reachable from outside the process. When the sidecar
// exposes prom-client's default metrics on /metrics, nodejs_heap_size_used_bytes is read from
// there; otherwise only RSS is reported.
//
//   node bench/memory.mjs                      # baseline then sidecar (skipped until dist/cli.js serves)
//   node bench/memory.mjs --target sidecar     # one target only
//   options: --requests 1000000 --chunk 50000 --max-entries 100000 --limit-mib 150 --c 16 --m 32 --write-readme
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { grpcServers } from './scenarios.mjs';
import { ServerPool, SkipError, sidecarArgv } from './lib/servers.mjs';
import { runH2client } from './lib/h2client.mjs';
import { checkDecision } from './lib/probe.mjs';
import { freshTemplate, patchFresh } from './lib/frames.mjs';
import { peakRssMiB, rssMiB } from './lib/proc.mjs';
import { machineInfo, machineLine, writeReadmeSection } from './lib/report.mjs';
import { RESULTS_DIR } from './lib/suite.mjs';
import { REPO } from './lib/protos.mjs';

const { values: o } = parseArgs({ options: {
  target: { type: 'string', default: 'baseline,sidecar' }, requests: { type: 'string', default: '1000000' },
  chunk: { type: 'string', default: '50000' }, 'max-entries': { type: 'string', default: '100000' },
  'limit-mib': { type: 'string', default: '150' }, c: { type: 'string', default: '16' }, m: { type: 'string', default: '32' },
  'write-readme': { type: 'boolean', default: false },
} });
const total = Number(o.requests);
const chunk = Math.min(total, Number(o.chunk));
const limitMiB = Number(o['limit-mib']);

/** nodejs_heap_size_used_bytes from /metrics, in MiB, when the server exposes it. */
async function heapMiB(httpPort) {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(2000) });
    const m = (await res.text()).match(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.eE+]+)/m);
    return m ? Number(m[1]) / 2 ** 20 : undefined;
  } catch { return undefined; }
}

/** Start one target, drive `total` fresh actions through it in chunks, sample after each chunk. */
async function runTarget(target) {
  const spec = target === 'baseline'
    ? grpcServers()['grpc-bare']
    : { argv: sidecarArgv, ready: 'sidecar', requires: 'sidecar', metrics: true,
        config: { generate: { cache: 'on', ttlMs: 3_600_000, maxEntries: Number(o['max-entries']) } } };
  const pool = new ServerPool({ outDir: RESULTS_DIR });
  const samples = [];
  try {
    const server = await pool.get(`memory-${target}`, spec);
    const got = await checkDecision(server.grpcPort, patchFresh(freshTemplate(), 999_999_999));
    if (!spec.constant && got.decision !== 'allow') throw new SkipError(`a fresh refund was answered ${got.decision}, expected allow`);
    const sample = async (done, rps) => {
      const s = { requests: done, rssMiB: rssMiB(server.pid), peakRssMiB: peakRssMiB(server.pid), heapMiB: await heapMiB(server.httpPort), rps };
      samples.push(s);
      console.error(`[memory] ${target} ${String(done).padStart(8)} requests  RSS ${s.rssMiB.toFixed(1)} MiB  peak ${s.peakRssMiB.toFixed(1)}` +
        `${s.heapMiB !== undefined ? `  heap ${s.heapMiB.toFixed(1)} MiB` : ''}${rps ? `  ${Math.round(rps)} req/s` : ''}`);
    };
    await sample(0);
    const t0 = performance.now();
    let errors = 0;
    for (let done = 0; done < total; done += chunk) {
      const n = Math.min(chunk, total - done);
      const r = await runH2client({ port: server.grpcPort, mode: { c: Number(o.c), m: Number(o.m) }, requests: n,
        latency: false, freshEvery: 1, freshStart: done });
      errors += r.errors;
      await sample(done + n, r.rps);
    }
    return { target, ...verdict(samples, { errors, seconds: (performance.now() - t0) / 1000 }), samples };
  } catch (err) {
    if (!(err instanceof SkipError)) throw err;
    console.error(`[memory] ${target} skipped: ${err.message}`);
    return { target, skipped: err.message, samples };
  } finally {
    await pool.stopAll();
  }
}

/** Least-squares slope of RSS over requests, in MiB per 100k requests. */
function slopePer100k(s) {
  const n = s.length;
  const mx = s.reduce((a, x) => a + x.requests, 0) / n;
  const my = s.reduce((a, x) => a + x.rssMiB, 0) / n;
  const num = s.reduce((a, x) => a + (x.requests - mx) * (x.rssMiB - my), 0);
  const den = s.reduce((a, x) => a + (x.requests - mx) ** 2, 0);
  return den ? (num / den) * 100_000 : 0;
}

/**
 * Bounded: never above the limit. Flat: over the second half (the cache is full by then) RSS
 * rises less than 5 MiB per 100k requests — a leak of even 50 bytes per action would show as 5.
 * Single samples swing ±15 % with GC timing, hence a fitted slope rather than first-vs-last.
 */
function verdict(s, extra) {
  const maxRss = Math.max(...s.map((x) => x.rssMiB));
  const slope = slopePer100k(s.filter((x) => x.requests >= total / 2));
  return { maxRssMiB: maxRss, secondHalfSlopeMiBPer100k: slope, bounded: maxRss <= limitMiB, flat: slope < 5, ...extra };
}

const machine = machineInfo();
const results = [];
for (const target of o.target.split(',')) results.push(await runTarget(target.trim()));

const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
// The limit is the sidecar's target; the bare server's figure is the floor it is read against.
const limitNote = (r) => (r.target === 'baseline' ? 'the floor: no cache at all' : `limit ${limitMiB}: ${r.bounded ? 'bounded' : 'OVER'}`);
const line = (r) => (r.skipped ? `- ${r.target}: skipped — ${r.skipped}` :
  `- ${r.target}: max RSS ${r.maxRssMiB.toFixed(1)} MiB (${limitNote(r)}), ` +
  `second-half slope ${r.secondHalfSlopeMiBPer100k.toFixed(1)} MiB/100k requests (${r.flat ? 'flat' : 'GROWING'}), ${r.errors} errors, ${r.seconds.toFixed(0)} s`);
const ran = results.filter((r) => r.samples.length > 1);
const cell = (r, i, f) => { const x = r.samples[i]; return x ? f(x) : ''; };
const table = ran.length ? [
  `| requests | ${ran.map((r) => `${r.target} RSS MiB | ${r.target} heap MiB`).join(' | ')} |`,
  `|---:|${ran.map(() => '---:|---:').join('|')}|`,
  ...ran[0].samples.map((x, i) => `| ${x.requests.toLocaleString('en-US')} | ${ran.map((r) =>
    `${cell(r, i, (y) => y.rssMiB.toFixed(1))} | ${cell(r, i, (y) => y.heapMiB?.toFixed(1) ?? 'n/a')}`).join(' | ')} |`),
].join('\n') : '';
const summary = results.map(line).join('\n');
console.log(`\nmemory — ${when}, ${total.toLocaleString('en-US')} distinct actions in chunks of ${chunk.toLocaleString('en-US')}, ` +
  `${o.c}×${o.m} in flight\n${machineLine(machine)}\n\n${summary}\n\n${table}`);
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(path.join(RESULTS_DIR, 'memory.json'), `${JSON.stringify({ when, machine, total, chunk, limitMiB, concurrency: `${o.c}x${o.m}`, results }, null, 1)}\n`);
if (o['write-readme']) {
  writeReadmeSection('memory', `_Generated by \`node bench/memory.mjs\` on ${when} (commit ${machine.commit}; ` +
    `${total.toLocaleString('en-US')} distinct actions, ${o.c}×${o.m} in flight)._\n\n${summary}\n\n${table}`);
}
console.error(`[memory] wrote ${path.relative(REPO, path.join(RESULTS_DIR, 'memory.json'))}`);
