// Processes under test: start pinned, read their CPU and memory from /proc, stop them.
//
// CPU and RSS are summed over the process TREE, so a server that forks workers (node:cluster,
// `--workers N`) is measured whole. Servers log to a file, not a pipe: reading a pipe would cost
// the harness CPU on the load generator's core and could back-pressure a synchronous logger.
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Cores: server on SERVER_CPU, load generator on LOAD_CPU (taskset -c). */
export const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '1';
export const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? '0';

let clkTck;
/** Kernel clock ticks per second, for utime/stime in /proc/PID/stat. */
export function clockTicks() {
  clkTck ??= Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10);
  return clkTck;
}

/** { pid → ppid } for every process, to find a server's descendants. */
function parentMap() {
  const map = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) map.set(Number(name), stat.ppid);
  }
  return map;
}

/** pid and all its descendants that are alive now. */
export function processTree(pid) {
  const parents = parentMap();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, ppid] of parents) if (ppid === tree[i]) tree.push(child);
  }
  return tree.filter((p) => parents.has(p));
}

function readStat(pid) {
  let text;
  try { text = readFileSync(`/proc/${pid}/stat`, 'latin1'); } catch { return undefined; }
  // comm (field 2) may contain spaces and parens: the fixed fields start after the LAST ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]) };
}

/** CPU seconds (user + system) used so far by pid and its descendants. */
export function cpuSeconds(pid) {
  let ticks = 0;
  for (const p of processTree(pid)) {
    const s = readStat(p);
    if (s) ticks += s.utime + s.stime;
  }
  return ticks / clockTicks();
}

function statusKiB(pid, field) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'latin1').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

/** Resident memory (VmRSS) of pid and its descendants, in MiB. */
export const rssMiB = (pid) => processTree(pid).reduce((s, p) => s + statusKiB(p, 'VmRSS'), 0) / 1024;
/** Peak resident memory (VmHWM) summed over the tree, in MiB. */
export const peakRssMiB = (pid) => processTree(pid).reduce((s, p) => s + statusKiB(p, 'VmHWM'), 0) / 1024;

/**
 * Busy seconds of the given CPUs so far (user+nice+system+irq+softirq+steal from /proc/stat).
 * Busy time on the server's core minus the server's own CPU is time something ELSE ran there:
 * on a shared machine, the sign that a run was disturbed.
 */
export function cpuBusySeconds(cpus = SERVER_CPU) {
  const wanted = new Set(expandCpuList(cpus).map((c) => `cpu${c}`));
  let ticks = 0;
  for (const line of readFileSync('/proc/stat', 'latin1').split('\n')) {
    const f = line.split(/\s+/);
    if (!wanted.has(f[0])) continue;
    const [user, nice, system, , , irq, softirq, steal] = f.slice(1, 9).map(Number);
    ticks += user + nice + system + irq + softirq + (steal || 0);
  }
  return ticks / clockTicks();
}

/** "1", "0,2", "2-3" → [1], [0, 2], [2, 3] (taskset -c syntax). */
export function expandCpuList(list) {
  return String(list).split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

/** A free TCP port on 127.0.0.1 (bind 0, read, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start `argv` pinned to `cpus` with stdout+stderr appended to logFile. Resolves to the child;
 * `child.exited` is a promise of { code, signal } so callers can race readiness against death.
 */
export function startPinned(argv, { cpus = SERVER_CPU, cwd, env, logFile }) {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn('taskset', ['-c', cpus, ...argv], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.logFile = logFile;
  return child;
}

/** SIGTERM the child (and any descendants it left), then SIGKILL what is still there after `graceMs`. */
export async function stopProcess(child, graceMs = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const tree = processTree(child.pid);
  for (const p of tree) try { process.kill(p, 'SIGTERM'); } catch { /* already gone */ }
  const done = await Promise.race([child.exited.then(() => true), sleep(graceMs).then(() => false)]);
  for (const p of tree) {
    if (!done || existsSync(`/proc/${p}`)) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  }
  await child.exited;
}
