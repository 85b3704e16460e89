#!/usr/bin/env node
// Soak (issue 6; not in CI): the sidecar at half of its measured maximum throughput for a long
// time (default 10 minutes), RSS and heap sampled every 10 s. Memory must be flat.
//
// 1. start the sidecar on the contract config (pinned like every benchmark here),
// 2. measure its saturation throughput for 5 s with h2load (the cached-allow request),
// 3. offer half of that with h2load --rps for --minutes, on a mix of cached allows, denials and
//    never-seen refunds (so the decision cache keeps filling and evicting), sampling RSS (from
//    /proc) and heap (nodejs_heap_size_used_bytes from /metrics) every --every seconds,
// 4. report the samples and a verdict: the least-squares slope of RSS over the second half of
//    the run, in MiB per minute (flat: |slope| < 0.5 MiB/min), and the number of failed checks.
//
//   node bench/soak.mjs                    # 10 minutes
//   node bench/soak.mjs --minutes 1 --every 5
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { grpcServers } from './scenarios.mjs';
import { ServerPool } from './lib/servers.mjs';
import { runH2load } from './lib/h2load.mjs';
import { runH2client } from './lib/h2client.mjs';
import { adminDeny, encodeFrame, refund } from './lib/frames.mjs';
import { rssMiB } from './lib/proc.mjs';
import { RESULTS_DIR } from './lib/suite.mjs';

const { values: o } = parseArgs({ options: {
  minutes: { type: 'string', default: '10' }, every: { type: 'string', default: '10' },
  fraction: { type: 'string', default: '0.5' },
} });
const minutes = Number(o.minutes);
const everyS = Number(o.every);

async function heapMiB(httpPort) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const m = text.match(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.eE+]+)/m);
    return m ? Number(m[1]) / 2 ** 20 : undefined;
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const pool = new ServerPool({ outDir: RESULTS_DIR });
try {
  const server = await pool.get('soak-sidecar', grpcServers()['sidecar-core']);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-'));
  const allowFile = path.join(dir, 'allow.bin');
  writeFileSync(allowFile, encodeFrame(refund()));
  const max = await runH2load({ port: server.grpcPort, frameFile: allowFile, mode: 'saturation', durationS: 5, latency: false });
  const offered = Math.max(100, Math.round(max.rps * Number(o.fraction)));
  console.error(`[soak] saturation ${Math.round(max.rps)} req/s; offering ${offered} req/s for ${minutes} min`);

  // The load: three streams at once — cached allows (h2load --rps), denials, and never-seen refunds
  // (h2client, paced in one-second slices) so the cache keeps churning.
  const denyFile = path.join(dir, 'deny.bin');
  writeFileSync(denyFile, encodeFrame(adminDeny()));
  const endAt = Date.now() + minutes * 60_000;
  const mode = (rps) => ({ name: 'fixed', c: 4, m: 4, totalRps: rps });
  let failed = 0;
  let fresh = 0;
  const streams = [
    runH2load({ port: server.grpcPort, frameFile: allowFile, mode: mode(Math.round(offered * 0.7)), durationS: minutes * 60, latency: false }),
    runH2load({ port: server.grpcPort, frameFile: denyFile, mode: mode(Math.round(offered * 0.2)), durationS: minutes * 60, latency: false }),
    (async () => {
      const perSecond = Math.max(1, Math.round(offered * 0.1));
      while (Date.now() < endAt) {
        const started = Date.now();
        const r = await runH2client({ port: server.grpcPort, mode: { c: 1, m: 8 }, requests: perSecond, latency: false, freshEvery: 1, freshStart: fresh });
        failed += r.errors;
        fresh += perSecond;
        const wait = 1000 - (Date.now() - started);
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      }
      return { errors: 0 };
    })(),
  ];

  const samples = [];
  const t0 = Date.now();
  while (Date.now() < endAt) {
    await new Promise((res) => setTimeout(res, everyS * 1000));
    const s = { t: Math.round((Date.now() - t0) / 1000), rssMiB: rssMiB(server.pid), heapMiB: await heapMiB(server.httpPort) };
    samples.push(s);
    console.error(`[soak] t=${String(s.t).padStart(4)} s  RSS ${s.rssMiB.toFixed(1)} MiB${s.heapMiB === undefined ? '' : `  heap ${s.heapMiB.toFixed(1)} MiB`}`);
  }
  const results = await Promise.all(streams);
  failed += results[0].errors + results[1].errors;

  const second = samples.slice(Math.floor(samples.length / 2));
  const rssSlope = slope(second.map((s) => s.t / 60), second.map((s) => s.rssMiB));
  const heapSlope = second.every((s) => s.heapMiB !== undefined) ? slope(second.map((s) => s.t / 60), second.map((s) => s.heapMiB)) : undefined;
  const verdict = { minutes, offeredRps: offered, saturationRps: Math.round(max.rps), failedChecks: failed, freshActions: fresh,
    rssSlopeMiBPerMin: Number(rssSlope.toFixed(3)), heapSlopeMiBPerMin: heapSlope === undefined ? undefined : Number(heapSlope.toFixed(3)),
    flat: Math.abs(rssSlope) < 0.5, samples };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'soak.json'), `${JSON.stringify(verdict, null, 2)}\n`);
  console.log(`| minutes | offered req/s | failed | RSS first → last MiB | RSS slope, 2nd half (MiB/min) | heap slope (MiB/min) | flat |`);
  console.log(`|---:|---:|---:|---|---:|---:|---|`);
  console.log(`| ${minutes} | ${offered} | ${failed} | ${samples[0]?.rssMiB.toFixed(1)} → ${samples.at(-1)?.rssMiB.toFixed(1)} | ${verdict.rssSlopeMiBPerMin} | ${verdict.heapSlopeMiBPerMin ?? 'n/a'} | ${verdict.flat ? 'yes' : 'NO'} |`);
  process.exitCode = verdict.flat && failed === 0 ? 0 : 1;
} finally {
  await pool.stopAll();
}
