#!/usr/bin/env node
// GC settings against the saturation tail: run one or more server command lines in turn (A B C
// A B C …), each a fresh process under `--trace-gc`, pinned like the bench (server core 1, h2load
// core 0), and print per run: req/s, p50/p99/p999 (after the settle), the scavenges and full GCs
// of the measured window with their longest pause, and peak RSS.
//
//   node bench/gc-probe.mjs --rounds 3 \
//     --server= --server=--heap-growing-percent=30 --server="cmd:node bench/baseline/grpc-bare.mjs --port {port}"
//
// Each --server (write it --server=VALUE: values start with a dash) is node flags (V8's) put
// before `dist/cli.js serve` on the contract config (empty: as shipped), or a whole command line
// after "cmd:" ({port} is replaced, `node` gets --trace-gc). Not a pair benchmark: no ratios,
// no disturbed-run detection; alternate and repeat, and read the spread.
// A node flag given this way wins over the config's server.heap_growth_percent (heap.ts).
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Assets } from './lib/drivers.mjs';
import { runH2load } from './lib/h2load.mjs';
import { freePort, peakRssMiB, startPinned, stopProcess } from './lib/proc.mjs';
import { REPO } from './lib/protos.mjs';
import { SIDECAR_CLI } from './lib/servers.mjs';

const { values: o } = parseArgs({ options: {
  server: { type: 'string', multiple: true, default: [''] }, rounds: { type: 'string', default: '3' },
  warmup: { type: 'string', default: '3' }, settle: { type: 'string', default: '1' }, duration: { type: 'string', default: '5' },
  config: { type: 'string', default: 'bench/configs/core.yaml' },
} });
const OUT = path.join(REPO, 'bench/results');
const frameFile = new Assets(OUT).file('allow');

function argvFor(spec, port) {
  if (spec.startsWith('cmd:')) return spec.slice(4).trim().replaceAll('{port}', String(port)).split(/\s+/).flatMap((a) => (a === 'node' ? [process.execPath, '--trace-gc'] : [a]));
  const flags = spec.trim() ? spec.trim().split(/\s+/) : [];
  return [process.execPath, '--trace-gc', ...flags, SIDECAR_CLI, 'serve', '--config', o.config, '--grpc-port', String(port), '--http-port', '0'];
}

async function listening(port, child) {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}); see ${child.logFile}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** `--trace-gc` lines of the last `windowMs` of the log: counts and longest pause per kind. */
export function gcSummary(text, windowMs) {
  const ev = [];
  for (const m of text.matchAll(/\s(\d+) ms: (Scavenge|Mark-Compact|Mark-sweep)\b.*?MB, ([\d.]+) \/ [\d.]+ ms/g)) {
    ev.push({ t: Number(m[1]), full: m[2] !== 'Scavenge', ms: Number(m[3]) });
  }
  const end = ev.length ? ev[ev.length - 1].t : 0;
  const win = ev.filter((e) => e.t > end - windowMs);
  const of = (full) => { const xs = win.filter((e) => e.full === full).map((e) => e.ms); return { n: xs.length, max: xs.length ? Math.max(...xs) : 0 }; };
  return { scavenges: of(false), full: of(true) };
}

const ms = (us) => (us / 1000).toFixed(1);
for (let round = 1; round <= Number(o.rounds); round++) {
  for (const spec of o.server) {
    const port = await freePort();
    const logFile = path.join(OUT, 'logs', `gc-probe-${port}.log`);
    rmSync(logFile, { force: true });
    const child = startPinned(argvFor(spec, port), { cwd: REPO, logFile });
    try {
      await listening(port, child);
      await runH2load({ port, frameFile, mode: 'saturation', durationS: Number(o.warmup), latency: false });
      const r = await runH2load({ port, frameFile, mode: 'saturation', durationS: Number(o.duration), settleS: Number(o.settle) });
      const peak = peakRssMiB(child.pid);
      await stopProcess(child);
      const gc = gcSummary(readFileSync(logFile, 'latin1'), Number(o.duration) * 1000);
      const l = r.latencyUs;
      console.log(`round ${round} [${spec || 'as shipped'}] ${Math.round(r.rps)} req/s, p50/p99/p999 ${ms(l.p50)}/${ms(l.p99)}/${ms(l.p999)} ms, ` +
        `scavenges ${gc.scavenges.n} (max ${gc.scavenges.max} ms), full GCs ${gc.full.n} (max ${gc.full.max} ms), peak RSS ${peak.toFixed(0)} MiB, errors ${r.errors}`);
    } finally {
      await stopProcess(child);
      rmSync(logFile, { force: true });
    }
  }
}
