#!/usr/bin/env node
// What node:http2 keeps alive under saturation, and for how long. A node:http2 server answers
// every Check with a constant CheckResponse in one of a few ways (below), under h2load 16×32
// (server core 1, h2load core 0, as the bench), a fresh process per run, and the probe prints
// per run: req/s; the server-side life of a stream (its 'stream' event → its request's end →
// its 'close'); bytes promoted to old space per request (the sum of `--trace-gc-nvp`'s
// `promoted=` over the measured window ÷ the streams closed in it); scavenges and full GCs.
//
//   node bench/stream-probe.mjs --rounds 3                 # every variant, alternated
//   node bench/stream-probe.mjs --variant grpc --variant headers-only
//   PROBE_NODE_FLAGS="--no-reclaim-unmodified-wrappers" node bench/stream-probe.mjs   # node flags for the servers
//
// Variants (--variant, repeatable):
//   grpc            what a gRPC server must do, and what ours and grpc-js do: HEADERS, DATA, then
//                   the grpc-status trailers when node:http2 asks for them ('wantTrailers';
//                   sendTrailers submits them from a setImmediate)
//   headers-only    grpc-status in the response headers, one DATA frame ending the stream: not a
//                   valid gRPC answer (clients want trailers); it shows what the trailers round costs
//   marker          grpc, plus a 1 KiB array reachable only from the stream
//   marker-cleared  marker, with the array dropped on the stream's 'close': if the marker is
//                   promoted only when kept, closed streams are what survives the scavenges
//   grpc-unchained  grpc, with node's timers.setImmediate wrapped before node:http2 loads so that
//                   a run Immediate lets go of its arguments (the stream) and of its neighbours in
//                   the queue; node leaves both on it (processImmediate clears only _onImmediate)
// Not a pair benchmark: no ratios. Alternate and repeat, and read the spread.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { percentiles } from './lib/stats.mjs';

const VARIANTS = ['grpc', 'headers-only', 'marker', 'marker-cleared', 'grpc-unchained'];
const { values: o } = parseArgs({ options: {
  variant: { type: 'string', multiple: true }, rounds: { type: 'string', default: '3' },
  warmup: { type: 'string', default: '3' }, settle: { type: 'string', default: '1' }, duration: { type: 'string', default: '5' },
  serve: { type: 'string' }, port: { type: 'string' },
} });

if (o.serve !== undefined) await serve(o.serve, Number(o.port));
else await probe(o.variant ?? VARIANTS);

/** The server side: one variant on `port`; stats from SIGUSR2 to SIGTERM. */
async function serve(variant, port) {
  if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}; one of ${VARIANTS.join(', ')}`);
  if (variant === 'grpc-unchained') unchainImmediates(); // before node:http2 takes its setImmediate
  const { default: http2 } = await import('node:http2');
  // CheckResponse{status{code:0}, ok_response{}}, framed.
  const frame = Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x00, 0x12, 0x00]);
  const HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
  const HEADERS_WITH_STATUS = { ...HEADERS, 'grpc-status': '0' };
  const RESPOND = { waitForTrailers: true, sendDate: false };
  const TRAILERS = { 'grpc-status': '0' };
  const marker = variant.startsWith('marker');
  const toEnd = [];
  const toClose = [];
  let closed = 0;
  function sendTrailers() { this.sendTrailers(TRAILERS); }
  const server = http2.createServer({ maxSessionMemory: Number.MAX_SAFE_INTEGER });
  server.on('stream', (stream) => {
    const t0 = performance.now();
    let t1 = t0;
    if (marker) stream.marker = new Array(128).fill(0);
    stream.on('error', () => {});
    stream.on('data', () => {});
    stream.on('end', () => {
      t1 = performance.now();
      if (variant === 'headers-only') {
        stream.respond(HEADERS_WITH_STATUS, { sendDate: false });
      } else {
        stream.respond(HEADERS, RESPOND);
        stream.once('wantTrailers', sendTrailers);
      }
      stream.end(frame);
    });
    stream.once('close', () => {
      closed++;
      if (variant === 'marker-cleared') stream.marker = undefined;
      // Every 16th stream's times: enough for percentiles, little work.
      if ((closed & 15) === 0) { const t2 = performance.now(); toEnd.push(t1 - t0); toClose.push(t2 - t1); }
    });
  });
  process.on('SIGUSR2', () => {
    toEnd.length = toClose.length = closed = 0;
  });
  process.on('SIGTERM', () => {
    console.log(`stream-probe: ${JSON.stringify({ closed, toEnd: percentiles(toEnd, [50, 99]), toClose: percentiles(toClose, [50, 99]) })}`);
    process.exit(0);
  });
  server.listen(port, '127.0.0.1');
}

/** Wrap timers.setImmediate so a run Immediate keeps no arguments and no queue neighbours. */
function unchainImmediates() {
  const timers = createRequire(import.meta.url)('node:timers');
  const original = timers.setImmediate;
  timers.setImmediate = function setImmediate(fn, ...args) {
    const immediate = original(() => {
      // The previous Immediate has been stepped past: its _idleNext is no longer read.
      if (immediate._idlePrev) immediate._idlePrev._idleNext = null;
      immediate._idlePrev = null;
      const a = args;
      args = undefined;
      fn(...a);
    });
    return immediate;
  };
}

/** The load side: each variant a fresh server per round, alternated. */
async function probe(variants) {
  const bad = variants.filter((v) => !VARIANTS.includes(v));
  if (bad.length) throw new Error(`unknown variant ${bad.join(', ')}; one of ${VARIANTS.join(', ')}`);
  const [{ Assets }, { gcSummary, TRACE_FLAGS, tracedRun }, { REPO }, { ServerPool }] = await Promise.all([
    import('./lib/drivers.mjs'), import('./lib/gc-trace.mjs'), import('./lib/protos.mjs'), import('./lib/servers.mjs'),
  ]);
  const OUT = path.join(REPO, 'bench/results');
  const frameFile = new Assets(OUT).file('allow');
  const pool = new ServerPool({ outDir: OUT, say: () => {} });
  const self = fileURLToPath(import.meta.url);
  const f = (x) => x.toFixed(1);
  for (let round = 1; round <= Number(o.rounds); round++) {
    for (const variant of variants) {
      const id = `stream-probe-${process.pid}-${round}-${variant}`;
      const { result: r, log } = await tracedRun({
        pool, id, frameFile, warmupS: Number(o.warmup), settleS: Number(o.settle), durationS: Number(o.duration), latency: false,
        spec: { argv: () => [process.execPath, ...TRACE_FLAGS, ...(process.env.PROBE_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), self, '--serve', variant, '--port', '{grpcPort}'], ready: 'grpc-check' },
        beforeMeasured: (server) => process.kill(server.pid, 'SIGUSR2'), // the server's stats start here
      });
      const stats = JSON.parse(/stream-probe: (\{.*\})/.exec(log)?.[1] ?? 'null'); // printed on SIGTERM
      if (!stats) throw new Error(`${id}: no stats line in its log`);
      const gc = gcSummary(log);
      console.log(`round ${round} [${variant}] ${Math.round(r.rps)} req/s; stream → end p50/p99 ${f(stats.toEnd.p50)}/${f(stats.toEnd.p99)} ms, ` +
        `end → close ${f(stats.toClose.p50)}/${f(stats.toClose.p99)} ms; promoted ${Math.round(gc.promoted / stats.closed)} B/req; ` +
        `scavenges ${gc.scavenges.n}, full GCs ${gc.full.n}; errors ${r.errors}`);
    }
  }
}
