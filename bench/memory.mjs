#!/usr/bin/env node
// Memory under 1M distinct actions: is the decision cache bounded?
//
// Drives N never-seen refund ids (f-000000000, f-000000001, …: one distinct action each)
// through the gRPC port with h2client, in chunks, and samples the server's RSS (VmRSS summed
// over its process tree, from /proc) after each chunk. The sidecar runs the contract config with
// `cache: {ttl_ms: 3600000, max_entries: 100000}` so nothing expires during the run: the cache
// fills to max_entries after 100k requests and must then evict — RSS should go flat there.
//
// Heap: process.memoryUsage() is not reachable from outside the process. When the sidecar
// exposes prom-client's default metrics on /metrics, nodejs_heap_size_used_bytes is read from
// there; otherwise only RSS is reported.
//
//   node bench/memory.mjs                      # the sidecar (skipped until dist/cli.js serves)
//   node bench/memory.mjs --target baseline    # the bare grpc-js server: shows the harness works
//   options: --requests 1000000 --chunk 100000 --max-entries 100000 --limit-mib 150 --write-readme
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
  target: { type: 'string', default: 'sidecar' }, requests: { type: 'string', default: '1000000' },
  chunk: { type: 'string', default: '100000' }, 'max-entries': { type: 'string', default: '100000' },
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

const spec = o.target === 'baseline'
  ? grpcServers()['grpc-bare']
  : { argv: sidecarArgv, ready: 'sidecar', requires: 'sidecar', metrics: true,
      config: { generate: { cache: 'on', ttlMs: 3_600_000, maxEntries: Number(o['max-entries']) } } };
const pool = new ServerPool({ outDir: RESULTS_DIR });
const machine = machineInfo();
const samples = [];
let result;
try {
  const server = await pool.get(`memory-${o.target}`, spec);
  const got = await checkDecision(server.grpcPort, patchFresh(freshTemplate(), 999_999_999));
  if (!spec.constant && got.decision !== 'allow') throw new SkipError(`a fresh refund was answered ${got.decision}, expected allow`);
  const sample = async (done, rps) => {
    const s = { requests: done, rssMiB: rssMiB(server.pid), peakRssMiB: peakRssMiB(server.pid), heapMiB: await heapMiB(server.httpPort), rps };
    samples.push(s);
    console.error(`[memory] ${String(done).padStart(8)} requests  RSS ${s.rssMiB.toFixed(1)} MiB  peak ${s.peakRssMiB.toFixed(1)}` +
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
  result = verdict(samples, { errors, seconds: (performance.now() - t0) / 1000 });
} catch (err) {
  if (!(err instanceof SkipError)) throw err;
  result = { skipped: err.message };
  console.error(`[memory] skipped: ${err.message}`);
} finally {
  await pool.stopAll();
}

/** Bounded: never above the limit. Flat: the second half grows < 10 % (the cache is full by then). */
function verdict(s, extra) {
  const maxRss = Math.max(...s.map((x) => x.rssMiB));
  const half = s.find((x) => x.requests >= total / 2) ?? s[0];
  const last = s.at(-1);
  const growth = (last.rssMiB - half.rssMiB) / half.rssMiB;
  return { maxRssMiB: maxRss, secondHalfGrowth: growth, bounded: maxRss <= limitMiB, flat: growth < 0.1, ...extra };
}

const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const table = ['| requests | RSS MiB | peak RSS MiB | heap MiB | req/s |', '|---:|---:|---:|---:|---:|',
  ...samples.map((s) => `| ${s.requests.toLocaleString('en-US')} | ${s.rssMiB.toFixed(1)} | ${s.peakRssMiB.toFixed(1)} | ` +
    `${s.heapMiB?.toFixed(1) ?? 'n/a'} | ${s.rps ? Math.round(s.rps).toLocaleString('en-US') : ''} |`)].join('\n');
const summary = result.skipped ? `skipped: ${result.skipped}` :
  `target ${o.target}: max RSS ${result.maxRssMiB.toFixed(1)} MiB (limit ${limitMiB}: ${result.bounded ? 'bounded' : 'OVER'}), ` +
  `second-half growth ${(result.secondHalfGrowth * 100).toFixed(1)} % (${result.flat ? 'flat' : 'GROWING'}), ${result.errors} errors, ${result.seconds.toFixed(0)} s`;
console.log(`\nmemory — ${when}, ${total.toLocaleString('en-US')} distinct actions in chunks of ${chunk.toLocaleString('en-US')}\n${machineLine(machine)}\n\n${summary}\n\n${samples.length ? table : ''}`);
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(path.join(RESULTS_DIR, 'memory.json'), `${JSON.stringify({ when, machine, target: o.target, total, chunk, limitMiB, ...result, samples }, null, 1)}\n`);
if (o['write-readme']) {
  writeReadmeSection('memory', `_Generated by \`node bench/memory.mjs --target ${o.target}\` on ${when} (commit ${machine.commit})._\n\n${summary}\n\n${samples.length ? table : ''}`);
}
console.error(`[memory] wrote ${path.relative(REPO, path.join(RESULTS_DIR, 'memory.json'))}`);
