#!/usr/bin/env node
// The per-request work above the transport, in one process and without sockets: each gateway
// request of bench/http-scenarios.mjs (Kong, Kong opa, forward-auth, the REST submit) handed to
// the HTTP listener's fast path (src/http/fast-routes.ts) as node:http would hand it, with a
// response object that only records what it is given. What is left is the sidecar's own work on
// a cached allow — body parsing, validation, the pipeline, the decision log, metrics, the answer —
// and none of node:http's, so a change to that work shows as a few hundred nanoseconds here
// where a loaded machine's wrk run would hide it. Needs `npm run build`.
//
//   node bench/micro/gateway-requests.mjs [--dist dist] [--base DIR] [--rounds 5] [--n 100000] [--only kong,submit] [--alloc]
//
// Prints, per request, the median of the rounds in µs of CPU (process.cpuUsage) per request.
// With --base (another build, e.g. `cp -r dist dist-base` before a change), both builds run in
// this one process, their rounds alternating, and the median ratio of paired rounds is printed:
// on a loaded machine the load then weighs on both alike.
//
// --alloc prints instead the bytes each request allocates on the JS heap, which no load on the
// machine disturbs: the script runs itself again with a young generation too large to fill
// (--min/--max-semi-space-size=512, --expose-gc), collects, answers --n requests (default here
// 30000) and reads the heap's growth; a run during which a collection happened anyway is marked
// invalid. The count includes this script's own objects per request (the fake request, its
// header map), the same for every build.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { REQUESTS } from '../http-scenarios.mjs';

const { values } = parseArgs({ options: {
  dist: { type: 'string', default: 'dist' }, base: { type: 'string' }, rounds: { type: 'string', default: '5' }, n: { type: 'string' },
  only: { type: 'string', default: '' }, alloc: { type: 'boolean', default: false },
} });
if (values.alloc && typeof globalThis.gc !== 'function') {
  const flags = ['--expose-gc', '--min-semi-space-size=512', '--max-semi-space-size=512'];
  const run = spawnSync(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
/** One build's modules, loaded from its own directory. */
async function build(dir) {
  const at = (p) => pathToFileURL(path.resolve(dir, p)).href;
  const { loadRuntime } = await import(at('config/load.js'));
  const { buildApp } = await import(at('app.js'));
  const { createLogger, logDestination } = await import(at('observability/logger.js'));
  const { fastRoutesOf } = await import(at('http/fast-routes.js'));
  const apps = new Map();
  return {
    name: dir,
    /** The fast routes of an app built from `config` (one app per config). */
    async fast(config) {
      if (!apps.has(config)) {
        const { runtime } = await loadRuntime(config, 1);
        const logger = createLogger({ level: 'info', destination: logDestination('/dev/null') });
        apps.set(config, await buildApp({ runtime, logger, batchLogs: true, defaultMetrics: false }));
      }
      return fastRoutesOf(apps.get(config).http);
    },
    async close() {
      for (const app of apps.values()) await app.shutdown(0);
    },
  };
}

const SOCKET = { remoteAddress: '127.0.0.1', remotePort: 40000, encrypted: false };

class FakeRequest extends EventEmitter {
  constructor(r, headers, rawHeaders) {
    super();
    this.method = r.method;
    this.url = r.path;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.socket = SOCKET;
  }
}

class FakeResponse {
  status = 0;
  body = undefined;
  writeHead(status, headers) {
    this.status = status;
    this.head = headers;
    return this;
  }
  setHeader() {}
  end(body) {
    this.body = body;
  }
}

/** One request through the fast path; returns its response (synchronous on a cached allow). */
function once(fast, r, body) {
  const headers = { host: '127.0.0.1', ...r.headers };
  if (body !== undefined) headers['content-length'] = String(body.length);
  const raw = Object.entries(headers).flat();
  const req = new FakeRequest(r, headers, raw);
  const res = new FakeResponse();
  if (!fast.serve(req, res)) throw new Error(`${r.method} ${r.path}: not served by the fast path`);
  if (body !== undefined) {
    req.emit('data', body);
    req.emit('end');
  }
  return res;
}

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

/** Bytes of JS heap one request allocates (no collection may run meanwhile). */
async function allocated(fast, r, body) {
  for (let i = 0; i < 20000; i++) once(fast, r, body);
  globalThis.gc();
  await new Promise((res) => setTimeout(res, 20));
  const before = collections;
  const h0 = v8.getHeapStatistics().used_heap_size;
  for (let i = 0; i < n; i++) once(fast, r, body);
  const h1 = v8.getHeapStatistics().used_heap_size;
  await new Promise((res) => setTimeout(res, 20));
  return collections === before ? (h1 - h0) / n : Number.NaN;
}
const builds = [await build(values.dist), ...(values.base === undefined ? [] : [await build(values.base)])];

/** CPU µs per request over `n` requests. */
function round(fast, r, body) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) once(fast, r, body);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const show = (xs) => xs.map((x) => x.toFixed(2)).join(' ');

for (const [name, config, r] of cases) {
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const fasts = [];
  try {
    for (const b of builds) {
      const fast = await b.fast(config);
      const res = once(fast, r, body);
      if (res.status !== 200) throw new Error(`${b.name} answered ${res.status} ${res.body}`);
      fasts.push(fast);
    }
  } catch (e) {
    console.log(`${name.padEnd(13)} skipped: ${e.message}`);
    continue;
  }
  if (values.alloc) {
    const bytes = [];
    for (const fast of fasts) bytes.push(await allocated(fast, r, body));
    const line = builds.map((b, j) => `${b.name} ${Number.isNaN(bytes[j]) ? 'invalid (a collection ran)' : `${bytes[j].toFixed(0)} bytes allocated/request`}`);
    if (builds.length === 2) line.push(`ratio ${(bytes[0] / bytes[1]).toFixed(3)} (${values.dist} ÷ ${values.base})`);
    console.log(`${name.padEnd(13)} ${line.join('\n              ')}`);
    continue;
  }
  const per = builds.map(() => []);
  for (let k = 0; k < rounds; k++) fasts.forEach((fast, j) => per[j].push(round(fast, r, body)));
  const line = builds.map((b, j) => `${b.name} ${median(per[j]).toFixed(2)} µs CPU/request (rounds in order: ${show(per[j])})`);
  if (builds.length === 2) line.push(`ratio ${b0(per)} (${values.dist} ÷ ${values.base}, median of paired rounds)`);
  console.log(`${name.padEnd(13)} ${line.join('\n              ')}`);
}
for (const b of builds) await b.close();

function b0(per) {
  return median(per[0].map((x, k) => x / per[1][k])).toFixed(3);
}
