#!/usr/bin/env node
// Instructions per request of the gateway adapters' request side, in process and load-independent:
// for Kong and Kong opa, FastRoutes.take + dispatch (the body's toString, depth check, JSON.parse,
// the adapter's ajv schema) and the adapter's translation; for forward-auth, originalRequest;
// then normalize() — the body → RawGatewayRequest → GatewayRequest path, on the bench's bodies
// (bench/http-scenarios.mjs) and the core config. Not the h1 transport, pipeline, cache or log.
// The `…Whole` scenarios (kongWhole, kongOpaWhole, forwardAuthWhole) count instead the whole
// request as gateway-requests.mjs hands it to an app built from the core config: the fast route,
// the pipeline (a cached allow), metrics, the decision log (batched to /dev/null), the answer and
// the reply's headers — everything but the h1 transport; the clocks stopped (see below).
//
// Counted by valgrind's callgrind, the N requests alone: this script runs itself under it, answers
// `warm` warm-up requests, then N more between two calls of os.getPriority() — libc's
// getpriority(), which nothing else here calls — and callgrind, told to dump before that function,
// writes the N requests' count as a file of its own; printed is that count ÷ N. Startup, module
// loading and warm-up are counted apart: two runs' startups differ by 10⁷ to 10⁸ instructions,
// which at N=20000 read as thousands a request. The young generation is 1 GiB, more than the
// requests fill, so no collection runs in the count either (a scavenge's or a full collection's
// place in the loop moved the figure by as much): this counts the code's instructions, not the
// collector's — what a request allocates, gateway-requests.mjs --alloc reads. Two runs of one
// build agree to ~100 instructions a request. Needs `npm run build`.
//
//   node bench/micro/adapter-instructions.mjs <dist-dir> <kongOpa|kong|forwardAuth|kongWhole|kongOpaWhole|forwardAuthWhole> [N=20000] [warm=30000]
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [dirArg = 'dist', which = 'kongOpa', nArg = '20000', warmArg = '30000', inner] = process.argv.slice(2);
const dir = path.resolve(dirArg);
const N = Number(nArg);
const WARM = Number(warmArg);

if (inner !== 'run') {
  const out = mkdtempSync(path.join(tmpdir(), 'adapter-instructions-'));
  const r = spawnSync('valgrind', ['--tool=callgrind', '--dump-before=getpriority', `--callgrind-out-file=${path.join(out, 'cg')}`, process.execPath, '--single-threaded', '--min-semi-space-size=1024', '--max-semi-space-size=1024', fileURLToPath(import.meta.url), dir, which, String(N), warmArg, 'run'], { encoding: 'utf8' });
  // Dumps: cg.1 before the loop (startup, warm-up), cg.2 the loop, cg at exit.
  const loop = path.join(out, 'cg.2');
  const m = existsSync(loop) && !existsSync(path.join(out, 'cg.3')) && r.status === 0 ? /^summary: (\d+)$/m.exec(readFileSync(loop, 'utf8')) : null;
  rmSync(out, { recursive: true, force: true });
  if (m === null) throw new Error(`callgrind gave no count of the loop:\n${r.stderr}${r.stdout}`);
  console.log(`${which} ${dirArg}: ${Math.round(Number(m[1]) / N)} instructions/request (N=${N}, ${WARM} warm-up)`);
  process.exit(0);
}

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mod = (f) => import(pathToFileURL(path.join(dir, f)).href);
const { REQUESTS } = await import(pathToFileURL(path.join(repo, 'bench/http-scenarios.mjs')).href);
const { loadRuntimeSync } = await mod('config/load.js');
const { normalize } = await mod('gateway/normalize.js');
const { FastRoutes, ReplyBase } = await mod('http/fast-routes.js');
const AjvModule = createRequire(path.join(repo, 'package.json'))('ajv');
const Ajv = AjvModule.default ?? AjvModule;
// As adapters/http-adapter.ts compiles the adapters' schemas.
const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false });
const rt = loadRuntimeSync(path.join(repo, 'bench/configs/core.yaml'), 1);
const r = REQUESTS[which];
const socket = { remoteAddress: '127.0.0.1' };
class Reply extends ReplyBase {
  write() {}
}
let last;
let request;
if (which.endsWith('Whole')) {
  const { appsOf } = await import('./lib.mjs');
  const { fastRoutesOf } = await mod('http/fast-routes.js');
  const w = REQUESTS[which.slice(0, -'Whole'.length)];
  const app = await (await appsOf(dir)).app(path.join(repo, 'bench/configs/core.yaml'));
  const fast = fastRoutesOf(app.http);
  const body = w.body === undefined ? undefined : Buffer.from(w.body);
  const headers = { host: '127.0.0.1', ...w.headers };
  if (body !== undefined) headers['content-length'] = String(body.length);
  const rawHeaders = Object.entries(headers).flat();
  const peer = { remoteAddress: '127.0.0.1', remotePort: 40000, encrypted: false };
  // As gateway-requests.mjs: node:http's request and response, reduced to what the fast path uses.
  const res = { writeHead(status) { this.status = status; return this; }, setHeader() {}, end(b) { this.body = b; } };
  // The clocks stand still from here: under callgrind a millisecond passes every request or two
  // and the cache's 5 s every few thousand, so how often the log builds a new millisecond's line
  // start, the latency's digits and each expiry's new evaluation and Decision (the answer's and
  // the log's parts built again) would follow the machine's speed, not the build's.
  const ms = Date.now();
  const t = performance.now();
  Date.now = () => ms;
  performance.now = () => t;
  /** node:http's request as the fast path reads it: one class, so its objects share one shape. */
  class FakeRequest extends EventEmitter {
    method = w.method;
    url = w.path;
    headers = headers;
    rawHeaders = rawHeaders;
    socket = peer;
  }
  request = () => {
    const req = new FakeRequest();
    res.status = 0;
    if (!fast.serve(req, res)) throw new Error(`${w.method} ${w.path}: not served by the fast path`);
    if (body !== undefined) {
      req.emit('data', body);
      req.emit('end');
    }
    if (res.status !== 200) throw new Error(`answered ${res.status}: ${res.body}`);
    last = res;
  };
} else if (which === 'forwardAuth') {
  const { originalRequest } = await mod('adapters/forward-auth/original-request.js');
  const headers = { host: '127.0.0.1' };
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
  const prefix = rt.config.forward_auth.path;
  request = () => {
    const o = originalRequest({ method: r.method, url: r.path, headers, peer: '127.0.0.1', prefix, trusted: rt.trustedProxies, body: undefined });
    last = normalize(o.raw, rt.normalize);
  };
} else {
  const opa = which === 'kongOpa';
  const { fromOpaInput } = await mod('adapters/kong-opa/from-opa-input.js');
  const { fromPluginRequest } = await mod('adapters/kong/from-plugin-request.js');
  const { OpaRequestSchema } = await mod('adapters/kong-opa/schema.js');
  const { PluginRequestSchema } = await mod('adapters/kong/schema.js');
  const from = opa ? fromOpaInput : fromPluginRequest;
  const routes = new FastRoutes({ runtime: rt }, 100);
  routes.add({
    methods: ['POST'], path: r.path, body: 'json', bodyLimit: 1 << 20, validate: ajv.compile(opa ? OpaRequestSchema : PluginRequestSchema),
    handle: (q) => void (last = normalize(from(q.body), rt.normalize)),
    fail: (e) => { throw e; },
  });
  const body = Buffer.from(r.body);
  const headers = { host: '127.0.0.1', 'content-type': 'application/json', 'content-length': String(body.length) };
  request = () => {
    const route = routes.take('POST', r.path, headers, 3, socket);
    routes.dispatch(route, { method: 'POST', url: r.path, headers, socket, body: undefined }, new Reply('POST'), body);
  };
}
for (let i = 0; i < WARM; i++) request();
os.getPriority(); // callgrind dumps here: what follows is the loop alone
for (let i = 0; i < N; i++) request();
os.getPriority();
if (last === undefined) throw new Error('no request was normalized');
// A whole app keeps timers; its state matters no more.
if (which.endsWith('Whole')) process.exit(0);
