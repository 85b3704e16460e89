#!/usr/bin/env node
// GC settings against the saturation tail: run one or more server command lines in turn (A B C
// A B C …), each a fresh process under `--trace-gc-nvp`, pinned like the bench (server core 1,
// h2load core 0), and print per run: req/s, p50/p99/p999 (after the settle), the scavenges and
// full GCs from the measured run's start (its settle included) with their longest pause, the
// bytes those scavenges promoted to old space per request (÷ req/s × settle + duration), and
// peak RSS.
//
//   node bench/gc-probe.mjs --rounds 3 \
//     --server= --server=--heap-growing-percent=30 --server="cmd:node bench/baseline/grpc-bare.mjs --port {grpcPort}"
//
// Each --server (write it --server=VALUE: values start with a dash) is node flags (V8's) put
// before `dist/cli.js serve` on the contract config (empty: as shipped), or a whole command line
// after "cmd:" ({grpcPort} is replaced, `node` gets the trace flags). Not a pair benchmark: no ratios,
// no disturbed-run detection; alternate and repeat, and read the spread.
// A node flag given this way wins over the config's server.heap_growth_percent (heap.ts).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Assets } from './lib/drivers.mjs';
import { gcSummary, TRACE_FLAGS, tracedRun } from './lib/gc-trace.mjs';
import { REPO } from './lib/protos.mjs';
import { SIDECAR_CLI, ServerPool } from './lib/servers.mjs';

const { values: o } = parseArgs({ options: {
  server: { type: 'string', multiple: true, default: [''] }, rounds: { type: 'string', default: '3' },
  warmup: { type: 'string', default: '3' }, settle: { type: 'string', default: '1' }, duration: { type: 'string', default: '5' },
  config: { type: 'string', default: 'bench/configs/core.yaml' },
} });
const OUT = path.join(REPO, 'bench/results');
const frameFile = new Assets(OUT).file('allow');
const pool = new ServerPool({ outDir: OUT, say: () => {} });

/** A ServerPool spec for one --server value (the pool picks the ports and waits for readiness). */
function specFor(value) {
  if (value.startsWith('cmd:')) {
    const argv = value.slice(4).trim().split(/\s+/).flatMap((a) => (a === 'node' ? [process.execPath, ...TRACE_FLAGS] : [a]));
    return { argv: () => argv, ready: 'grpc-check' };
  }
  const flags = value.trim() ? value.trim().split(/\s+/) : [];
  return {
    argv: () => [process.execPath, ...TRACE_FLAGS, ...flags, SIDECAR_CLI, 'serve', '--config', '{config}', '--grpc-port', '{grpcPort}', '--http-port', '{httpPort}'],
    config: { file: o.config }, ready: 'sidecar', requires: 'sidecar',
  };
}

const ms = (us) => (us / 1000).toFixed(1);
for (let round = 1; round <= Number(o.rounds); round++) {
  for (const [i, value] of o.server.entries()) {
    const id = `gc-probe-${process.pid}-${round}-${i}`; // its own log file
    const { result: r, log, peakMiB: peak } = await tracedRun({ pool, id, spec: specFor(value), frameFile,
      warmupS: Number(o.warmup), settleS: Number(o.settle), durationS: Number(o.duration) });
    const gc = gcSummary(log);
    const perReq = gc.promoted / (r.rps * (Number(o.settle) + Number(o.duration)));
    const l = r.latencyUs;
    console.log(`round ${round} [${value || 'as shipped'}] ${Math.round(r.rps)} req/s, p50/p99/p999 ${ms(l.p50)}/${ms(l.p99)}/${ms(l.p999)} ms, ` +
      `scavenges ${gc.scavenges.n} (max ${gc.scavenges.max} ms), full GCs ${gc.full.n} (max ${gc.full.max} ms), promoted ${Math.round(perReq)} B/req, peak RSS ${peak.toFixed(0)} MiB, errors ${r.errors}`);
  }
}
