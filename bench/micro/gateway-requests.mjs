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
import { EventEmitter } from 'node:events';
import { appPerConfig, gatewayArgs, loadBuilds, moduleOf, runGatewayRequests } from './lib.mjs';

const values = gatewayArgs();

/** One build's modules, loaded from its own directory. */
async function build(dir) {
  const { fastRoutesOf } = await moduleOf(dir, 'http/fast-routes.js');
  const apps = await appPerConfig(dir);
  return {
    name: dir,
    /** The fast routes of an app built from `config` (one app per config). */
    fast: async (config) => fastRoutesOf((await apps.get(config)).http),
    close: () => apps.close(),
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

const builds = await loadBuilds(values, build);
await runGatewayRequests(values, builds, async (b, config, r) => {
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const fast = await b.fast(config);
  const res = once(fast, r, body);
  if (res.status !== 200) throw new Error(`${b.name} answered ${res.status} ${res.body}`);
  return () => once(fast, r, body);
});
