// One measured run of any driver against one server process: warm-up (not measured), then the
// run with the server's CPU (utime+stime of its process tree) read from /proc before and after.
//
// CPU per request = server CPU seconds ÷ requests the server answered: the cost a gateway's
// sidecar adds per check, and the number that does not drift with the load generator's speed.
//
// Settling: a driver that can (h2load, h2client) opens the measured run's connections and loads
// them for settleS before its clock starts, and so do the CPU and counter readings here. Every
// server tried, node:http2 alone included, took up to 300 ms to settle when 16 connections
// opened at once with 32 streams each; counted, that burst put 0.4–0.8 % of a 4 s run above the
// steady-state p99, so which server had the better p99 depended on where the burst landed.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuBusySeconds, cpuSeconds, expandCpuList, LOAD_CPU, rssMiB, SERVER_CPU } from './proc.mjs';

/**
 * @param {object} o
 * @param {number} [o.pid] server pid (its tree is measured); without it only the driver's numbers
 * @param {((durationS: number, latency: boolean, settleS?: number) => Promise<object>) & {settles?: boolean}} o.load
 *   runs the driver once; `settles` when it can load its connections for settleS before counting
 * @param {number} o.warmS warm-up seconds (JIT, connection pools, caches), 0 to skip
 * @param {number} [o.settleS] seconds the measured run's own connections are loaded before counting
 * @param {number} o.durationS measured seconds
 * @param {() => Promise<any>} [o.before] read something just before the measured run …
 * @param {(before: any) => Promise<object>} [o.after] … and turn it into extra fields after it
 *   (e.g. the sidecar's cache hit/miss counters from /metrics)
 */
export async function measure({ pid, load, warmS, settleS = 0, durationS, before, after }) {
  if (warmS > 0) await load(warmS, false);
  const settle = load.settles && settleS > 0 ? settleS : 0;
  const running = load(durationS, true, settle);
  if (settle > 0) await Promise.race([sleep(settle * 1000), running]);
  const mark = before ? await before() : undefined;
  const cpu0 = pid ? cpuSeconds(pid) : NaN;
  const busy0 = cpuBusySeconds();
  const loadBusy0 = cpuBusySeconds(LOAD_CPU);
  const t0 = performance.now();
  const r = await running;
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = pid ? cpuSeconds(pid) - cpu0 : NaN;
  const busyS = cpuBusySeconds() - busy0;
  const loadBusyS = cpuBusySeconds(LOAD_CPU) - loadBusy0;
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
    // How busy the load generator's core(s) were: with serverCoreUtil, whether the client or the
    // server set the req/s (engine.mjs unsaturated).
    loadCoreUtil: loadBusyS / (wallS * expandCpuList(LOAD_CPU).length),
    rssMiB: pid ? rssMiB(pid) : NaN,
  };
}
