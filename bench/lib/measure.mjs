// One measured run of any driver against one server process: warm-up (not measured), then the
// run with the server's CPU (utime+stime of its process tree) read from /proc before and after.
//
// CPU per request = server CPU seconds ÷ requests the server answered: the cost a gateway's
// sidecar adds per check, and the number that does not drift with the load generator's speed.
import { performance } from 'node:perf_hooks';
import { cpuBusySeconds, cpuSeconds, expandCpuList, rssMiB, SERVER_CPU } from './proc.mjs';

/**
 * @param {object} o
 * @param {number} [o.pid] server pid (its tree is measured); without it only the driver's numbers
 * @param {(durationS: number, latency: boolean) => Promise<object>} o.load runs the driver once
 * @param {number} o.warmS warm-up seconds (JIT, connection pools, caches), 0 to skip
 * @param {number} o.durationS measured seconds
 * @param {() => Promise<any>} [o.before] read something just before the measured run …
 * @param {(before: any) => Promise<object>} [o.after] … and turn it into extra fields after it
 *   (e.g. the sidecar's cache hit/miss counters from /metrics)
 */
export async function measure({ pid, load, warmS, durationS, before, after }) {
  if (warmS > 0) await load(warmS, false);
  const mark = before ? await before() : undefined;
  const cpu0 = pid ? cpuSeconds(pid) : NaN;
  const busy0 = cpuBusySeconds();
  const t0 = performance.now();
  const r = await load(durationS, true);
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = pid ? cpuSeconds(pid) - cpu0 : NaN;
  const busyS = cpuBusySeconds() - busy0;
  const extra = after ? await after(mark) : {};
  return {
    ...r,
    ...extra,
    serverCpuS: cpuS,
    cpuUsPerReq: r.served > 0 ? (cpuS * 1e6) / r.served : NaN,
    // Near 1.0 under saturation means the server's core was the bottleneck, as intended.
    serverCoreUtil: cpuS / wallS,
    // Share of the server core(s) used by anything else during the run (other processes, and
    // the kernel's share of loopback networking). Spikes mean a disturbed run.
    foreignShare: Math.max(0, (busyS - cpuS) / (wallS * expandCpuList(SERVER_CPU).length)),
    rssMiB: pid ? rssMiB(pid) : NaN,
  };
}
