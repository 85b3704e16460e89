// One traced saturation run for the GC probes (gc-probe.mjs, stream-probe.mjs): a fresh server
// under `--trace-gc-nvp`, warmed, measured with h2load, stopped; and the reading of its trace.
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { runH2load } from './h2load.mjs';
import { peakRssMiB } from './proc.mjs';

/** Node flags for the traced server: one line per GC with its kind, pause and bytes promoted. */
export const TRACE_FLAGS = ['--trace-gc-nvp'];

/** Scavenges and full GCs in `--trace-gc-nvp` text, with their longest pause and the bytes scavenges promoted. */
export function gcSummary(text) {
  const kinds = { s: { n: 0, max: 0 }, mc: { n: 0, max: 0 } };
  let promoted = 0;
  for (const m of text.matchAll(/pause=([\d.]+) .*?gc=(s|mc) (.*)/g)) {
    const k = kinds[m[2]];
    k.n++;
    k.max = Math.max(k.max, Number(m[1]));
    if (m[2] === 's') promoted += Number(/promoted=(\d+)/.exec(m[3])?.[1] ?? 0);
  }
  return { scavenges: kinds.s, full: kinds.mc, promoted };
}

/**
 * Start `spec` in `pool` as `id`, load it for `warmupS`, call `beforeMeasured(server)`, run the
 * measured h2load (`settleS` + `durationS`), stop it. Returns h2load's result, the server's log
 * from the measured run's start (the trace, and whatever the server printed until it exited),
 * and its peak RSS. The log file is removed.
 */
export async function tracedRun({ pool, id, spec, frameFile, warmupS, settleS, durationS, latency = true, beforeMeasured }) {
  const logFile = path.join(pool.outDir, 'logs', `${id}.log`);
  let result;
  let peakMiB;
  let from = 0;
  try {
    const server = await pool.get(id, spec);
    await runH2load({ port: server.grpcPort, frameFile, mode: 'saturation', durationS: warmupS, latency: false });
    from = statSync(logFile).size;
    beforeMeasured?.(server);
    result = await runH2load({ port: server.grpcPort, frameFile, mode: 'saturation', durationS, settleS, latency });
    peakMiB = peakRssMiB(server.pid);
  } finally {
    await pool.stop(id); // the whole trace is in the log once the process is gone
  }
  const log = readFileSync(logFile, 'latin1').slice(from);
  rmSync(logFile);
  return { result, log, peakMiB };
}
