#!/usr/bin/env node
// Instructions per request of the gateway adapters' request side, in process and load-independent:
// for Kong and Kong opa, FastRoutes.take + dispatch (the body's toString, depth check, JSON.parse,
// the adapter's ajv schema) and the adapter's translation; for forward-auth, originalRequest;
// then normalize() — the body → RawGatewayRequest → GatewayRequest path, on the bench's bodies
// (bench/http-scenarios.mjs) and the core config. Not the h1 transport, pipeline, cache or log.
//
// Counted by valgrind's callgrind: this script runs itself twice under it, with `warm` warm-up
// requests and then 0 or N more, and prints (total(N) − total(0)) ÷ N. Needs `npm run build`.
// Two runs' startups differ by ~10⁷ instructions: at N=5000 that is ±2,000 a request, more than
// most single changes; keep N at 2×10⁴ or more.
//
//   node bench/micro/adapter-instructions.mjs <dist-dir> <kongOpa|kong|forwardAuth> [N=20000] [warm=30000]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [dirArg = 'dist', which = 'kongOpa', nArg = '20000', warmArg = '30000', inner] = process.argv.slice(2);
const dir = path.resolve(dirArg);
const N = Number(nArg);
const WARM = Number(warmArg);

if (inner !== 'run') {
  const count = (n) => {
    const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', fileURLToPath(import.meta.url), dir, which, String(n), warmArg, 'run'], { encoding: 'utf8' });
    const m = /Collected : ([\d,]+)/.exec(r.stderr);
    if (m === null) throw new Error(`callgrind gave no total:\n${r.stderr}${r.stdout}`);
    return Number(m[1].replaceAll(',', ''));
  };
  const zero = count(0);
  const n = count(N);
  console.log(`${which} ${dirArg}: ${Math.round((n - zero) / N)} instructions/request (N=${N}, ${WARM} warm-up)`);
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
if (which === 'forwardAuth') {
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
for (let i = 0; i < N; i++) request();
if (last === undefined) throw new Error('no request was normalized');
