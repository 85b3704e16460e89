#!/usr/bin/env node
// The gateway requests of bench/http-scenarios.mjs through the whole HTTP/1.1 server
// (src/http/h1-server.ts) in one process, without a kernel socket: each request's bytes are
// handed to the listener's h1 connection as a socket's 'data' event would hand them, and the
// answer is whatever the connection writes to the (fake) socket. What this measures is
// gateway-requests.mjs's work (the fast route, the pipeline, the answer) plus h1's own: reading
// the head, the reply's header block, the write call — everything but the kernel's send, which
// bare fastify pays alike. Needs `npm run build`.
//
//   node bench/micro/h1-requests.mjs [--dist dist] [--base DIR] [--rounds 5] [--n 100000] [--only kong,forward-auth] [--alloc]
//
// Output and method as gateway-requests.mjs: per request, the median over rounds of CPU µs
// (process.cpuUsage); with --base (a copy of dist made before a change) both builds run in this
// one process, rounds alternating, and the median ratio of paired rounds is printed. --alloc:
// bytes allocated on the JS heap per request (young generation too large to fill; a run during
// which a collection ran anyway is marked invalid).
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

/** A connected socket as h1-server.ts uses one: events in, writes recorded (the last answer kept). */
class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  encrypted = false;
  destroyed = false;
  writableLength = 0;
  writes = 0;
  last = '';
  write(data) {
    this.writes++;
    this.last = data;
    return true;
  }
  pause() {}
  resume() {}
  setNoDelay() {}
  end() {}
  destroy() { this.destroyed = true; }
  destroySoon() { this.destroyed = true; }
}

/** One build's modules, loaded from its own directory. */
async function build(dir) {
  const at = (p) => pathToFileURL(path.resolve(dir, p)).href;
  const { loadRuntime } = await import(at('config/load.js'));
  const { buildApp } = await import(at('app.js'));
  const { createLogger, logDestination } = await import(at('observability/logger.js'));
  const { http1Of } = await import(at('http/h1-server.js'));
  const apps = new Map();
  return {
    name: dir,
    /** A new connection to the h1 server of an app built from `config` (one app per config). */
    async connect(config) {
      if (!apps.has(config)) {
        const { runtime } = await loadRuntime(config, 1);
        const logger = createLogger({ level: 'info', destination: logDestination('/dev/null') });
        apps.set(config, await buildApp({ runtime, logger, batchLogs: true, defaultMetrics: false }));
      }
      const h1 = http1Of(apps.get(config).http.server);
      if (h1 === undefined) throw new Error(`${dir}: the listener has no HTTP/1.1 server`);
      const socket = new FakeSocket();
      h1.accept(socket);
      return socket;
    },
    async close() {
      for (const app of apps.values()) await app.shutdown(0);
    },
  };
}

/** The request's bytes as a gateway sends them (keep-alive). */
function wire(r) {
  const body = r.body === undefined ? '' : r.body;
  const headers = { host: '127.0.0.1', ...r.headers, ...(r.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return Buffer.from(`${r.method} ${r.path} HTTP/1.1\r\n${lines}\r\n${body}`);
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

/** One request; its answer must be written before this returns (a cached allow is synchronous). */
function once(socket, bytes) {
  const before = socket.writes;
  socket.emit('data', bytes);
  if (socket.writes !== before + 1) throw new Error('no answer written');
}

async function allocated(socket, bytes) {
  for (let i = 0; i < 20000; i++) once(socket, bytes);
  globalThis.gc();
  await new Promise((res) => setTimeout(res, 20));
  const before = collections;
  const h0 = v8.getHeapStatistics().used_heap_size;
  for (let i = 0; i < n; i++) once(socket, bytes);
  const h1 = v8.getHeapStatistics().used_heap_size;
  await new Promise((res) => setTimeout(res, 20));
  return collections === before ? (h1 - h0) / n : Number.NaN;
}

function round(socket, bytes) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) once(socket, bytes);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const builds = [await build(values.dist), ...(values.base === undefined ? [] : [await build(values.base)])];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const show = (xs) => xs.map((x) => x.toFixed(2)).join(' ');

for (const [name, config, r] of cases) {
  const bytes = wire(r);
  const sockets = [];
  try {
    for (const b of builds) {
      const socket = await b.connect(config);
      once(socket, bytes);
      const status = String(socket.last).slice(0, 12);
      if (status !== 'HTTP/1.1 200') throw new Error(`${b.name} answered ${String(socket.last).slice(0, 200)}`);
      sockets.push(socket);
    }
  } catch (e) {
    console.log(`${name.padEnd(13)} skipped: ${e.message}`);
    continue;
  }
  if (values.alloc) {
    const bytesPer = [];
    for (const s of sockets) bytesPer.push(await allocated(s, bytes));
    const line = builds.map((b, j) => `${b.name} ${Number.isNaN(bytesPer[j]) ? 'invalid (a collection ran)' : `${bytesPer[j].toFixed(0)} bytes allocated/request`}`);
    if (builds.length === 2) line.push(`ratio ${(bytesPer[0] / bytesPer[1]).toFixed(3)} (${values.dist} ÷ ${values.base})`);
    console.log(`${name.padEnd(13)} ${line.join('\n              ')}`);
    continue;
  }
  const per = builds.map(() => []);
  for (let k = 0; k < rounds; k++) sockets.forEach((s, j) => per[j].push(round(s, bytes)));
  const line = builds.map((b, j) => `${b.name} ${median(per[j]).toFixed(2)} µs CPU/request (rounds in order: ${show(per[j])})`);
  if (builds.length === 2) line.push(`ratio ${median(per[0].map((x, k) => x / per[1][k])).toFixed(3)} (${values.dist} ÷ ${values.base}, median of paired rounds)`);
  console.log(`${name.padEnd(13)} ${line.join('\n              ')}`);
}
for (const b of builds) await b.close();
