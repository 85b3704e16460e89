// The harness the in-process micro benches share (gateway-requests.mjs, h1-requests.mjs,
// remote-hit.mjs, remote-miss.mjs): the common arguments (--dist, --base, --rounds, --n), loading
// a build's modules from its own directory (so --base, a copy of dist made before a change, runs
// in the same process), apps built as the sidecar builds them, CPU µs per call
// (process.cpuUsage), medians, the --alloc re-run with a young generation too large to fill, the
// gateway requests' case loop and its printing, and the stub control plane of the remote benches.
import { fork, spawnSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { REQUESTS } from '../http-scenarios.mjs';

/** --dist, --base, --rounds and --n (defaults given; `n` may have none), plus `extra` options. */
export function benchArgs({ rounds, n }, extra = {}) {
  const { values } = parseArgs({ options: {
    dist: { type: 'string', default: 'dist' }, base: { type: 'string' }, rounds: { type: 'string', default: String(rounds) },
    n: n === undefined ? { type: 'string' } : { type: 'string', default: String(n) },
    ...extra,
  } });
  return values;
}

/** One module of the build in `dir`. */
export function moduleOf(dir, file) {
  return import(pathToFileURL(path.resolve(dir, file)).href);
}

/** The --dist build, then the --base build if given, each made by `load(dir)`. */
export async function loadBuilds(values, load) {
  return [await load(values.dist), ...(values.base === undefined ? [] : [await load(values.base)])];
}

/** Apps of the build in `dir` built from a config file as the sidecar builds them, logging to /dev/null. */
export async function appsOf(dir, level = 'info') {
  const { loadRuntime } = await moduleOf(dir, 'config/load.js');
  const { buildApp } = await moduleOf(dir, 'app.js');
  const { createLogger, logDestination } = await moduleOf(dir, 'observability/logger.js');
  const logger = () => createLogger({ level, destination: logDestination('/dev/null') });
  return {
    logger,
    async app(file, log) {
      const { runtime } = await loadRuntime(file, 1);
      return buildApp({ runtime, logger: log ?? logger(), batchLogs: true, defaultMetrics: false });
    },
  };
}

/** The apps of the build in `dir`, one per config file, each built on first use. */
export async function appPerConfig(dir) {
  const { app } = await appsOf(dir);
  const apps = new Map();
  return {
    async get(config) {
      if (!apps.has(config)) apps.set(config, await app(config));
      return apps.get(config);
    },
    async close() {
      for (const a of apps.values()) await a.shutdown(0);
    },
  };
}

/** CPU µs per call of `fn` over `n` calls. */
export function cpuPerCall(n, fn) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// --- the gateway requests (gateway-requests.mjs, h1-requests.mjs) ---------------------------------

/** Arguments of the gateway-request benches; with --alloc, this script again under --expose-gc and a 512 MiB young generation. */
export function gatewayArgs() {
  const values = benchArgs({ rounds: 5 }, { only: { type: 'string', default: '' }, alloc: { type: 'boolean', default: false } });
  if (values.alloc && typeof globalThis.gc !== 'function') {
    const flags = ['--expose-gc', '--min-semi-space-size=512', '--max-semi-space-size=512'];
    const run = spawnSync(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
    process.exit(run.status ?? 1);
  }
  return values;
}

/**
 * Each gateway request of bench/http-scenarios.mjs (--only: some), on every build: `prepare(build,
 * config, request)` answers it once (throwing unless 200) and returns the function that answers it
 * again, synchronously. Prints per request the median CPU µs of --rounds rounds of --n (default
 * 100000), builds' rounds alternating, and with --base the median ratio of paired rounds; with
 * --alloc instead the JS heap bytes one request allocates (--n default 30000; a run during which
 * a collection ran is marked invalid).
 */
export async function runGatewayRequests(values, builds, prepare) {
  const cases = [
    ['kong', 'bench/configs/core.yaml', REQUESTS.kong],
    ['kong-opa', 'bench/configs/core.yaml', REQUESTS.kongOpa],
    ['forward-auth', 'bench/configs/core.yaml', REQUESTS.forwardAuth],
    ['submit', 'bench/configs/core-api.yaml', REQUESTS.submit],
  ].filter(([name]) => values.only === '' || values.only.split(',').includes(name));
  const rounds = Number(values.rounds);
  const n = values.n === undefined ? (values.alloc ? 30000 : 100000) : Number(values.n);
  let collections = 0;
  if (values.alloc) new PerformanceObserver((list) => { collections += list.getEntries().length; }).observe({ entryTypes: ['gc'] });

  /** Bytes of JS heap one call allocates (no collection may run meanwhile). */
  async function allocated(once) {
    for (let i = 0; i < 20000; i++) once();
    globalThis.gc();
    await new Promise((res) => setTimeout(res, 20));
    const before = collections;
    const h0 = v8.getHeapStatistics().used_heap_size;
    for (let i = 0; i < n; i++) once();
    const h1 = v8.getHeapStatistics().used_heap_size;
    await new Promise((res) => setTimeout(res, 20));
    return collections === before ? (h1 - h0) / n : Number.NaN;
  }
  const show = (xs) => xs.map((x) => x.toFixed(2)).join(' ');

  for (const [name, config, r] of cases) {
    const runs = [];
    try {
      for (const b of builds) runs.push(await prepare(b, config, r));
    } catch (e) {
      console.log(`${name.padEnd(13)} skipped: ${e.message}`);
      continue;
    }
    if (values.alloc) {
      const bytes = [];
      for (const once of runs) bytes.push(await allocated(once));
      const line = builds.map((b, j) => `${b.name} ${Number.isNaN(bytes[j]) ? 'invalid (a collection ran)' : `${bytes[j].toFixed(0)} bytes allocated/request`}`);
      if (builds.length === 2) line.push(`ratio ${(bytes[0] / bytes[1]).toFixed(3)} (${values.dist} ÷ ${values.base})`);
      console.log(`${name.padEnd(13)} ${line.join('\n              ')}`);
      continue;
    }
    const per = builds.map(() => []);
    for (let k = 0; k < rounds; k++) runs.forEach((once, j) => per[j].push(cpuPerCall(n, once)));
    const line = builds.map((b, j) => `${b.name} ${median(per[j]).toFixed(2)} µs CPU/request (rounds in order: ${show(per[j])})`);
    if (builds.length === 2) line.push(`ratio ${median(per[0].map((x, k) => x / per[1][k])).toFixed(3)} (${values.dist} ÷ ${values.base}, median of paired rounds)`);
    console.log(`${name.padEnd(13)} ${line.join('\n              ')}`);
  }
  for (const b of builds) await b.close();
}

// --- the stub control plane (remote-hit.mjs, remote-miss.mjs) -------------------------------------

/** The stub's one answer: an allowed decision. */
export const ANSWER = JSON.stringify({ action_id: '6c1f0d4e-0b7a-4a43-9c3e-2f1d8f3a9b10', decision: 'allowed', code: 'policy_allow', reason: 'allowed by pol_refund_small', policy_id: 'pol_refund_small', risk_score: 25, risk_level: 'low', status: 'approved' });

/** In the stub process: a keep-alive node:http server answering ANSWER with these headers; sends its port to the parent. */
export async function serveStub({ cacheControl, facts }) {
  const http = await import('node:http');
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': cacheControl, 'x-ascend-request-facts': facts, 'content-length': Buffer.byteLength(ANSWER) });
      res.end(ANSWER);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.(server.address().port));
}

/** The bench script `url` (its import.meta.url) forked with `args` as the stub; its process and port. */
export async function forkStub(url, args) {
  const stub = fork(new URL(url).pathname, args, { stdio: 'inherit' });
  const port = await new Promise((r) => stub.once('message', r));
  return { stub, port };
}
