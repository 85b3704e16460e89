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
import { EventEmitter } from 'node:events';
import { appPerConfig, gatewayArgs, loadBuilds, moduleOf, runGatewayRequests } from './lib.mjs';

const values = gatewayArgs();

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
  const { http1Of } = await moduleOf(dir, 'http/h1-server.js');
  const apps = await appPerConfig(dir);
  return {
    name: dir,
    /** A new connection to the h1 server of an app built from `config` (one app per config). */
    async connect(config) {
      const h1 = http1Of((await apps.get(config)).http.server);
      if (h1 === undefined) throw new Error(`${dir}: the listener has no HTTP/1.1 server`);
      const socket = new FakeSocket();
      h1.accept(socket);
      return socket;
    },
    close: () => apps.close(),
  };
}

/** The request's bytes as a gateway sends them (keep-alive). */
function wire(r) {
  const body = r.body === undefined ? '' : r.body;
  const headers = { host: '127.0.0.1', ...r.headers, ...(r.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return Buffer.from(`${r.method} ${r.path} HTTP/1.1\r\n${lines}\r\n${body}`);
}

/** One request; its answer must be written before this returns (a cached allow is synchronous). */
function once(socket, bytes) {
  const before = socket.writes;
  socket.emit('data', bytes);
  if (socket.writes !== before + 1) throw new Error('no answer written');
}

const builds = await loadBuilds(values, build);
await runGatewayRequests(values, builds, async (b, config, r) => {
  const bytes = wire(r);
  const socket = await b.connect(config);
  once(socket, bytes);
  const status = String(socket.last).slice(0, 12);
  if (status !== 'HTTP/1.1 200') throw new Error(`${b.name} answered ${String(socket.last).slice(0, 200)}`);
  return () => once(socket, bytes);
});
