#!/usr/bin/env node
// A minimal gRPC unary load generator, for what h2load cannot do: h2load sends ONE body file for
// every request; this cycles through N pre-built frames (the 1,000-request mix) or mints
// never-seen requests from a template (cache misses, the 1M-action memory run).
//
// c connections × m streams per connection; each answer immediately starts the next request on
// its connection (closed loop, like h2load). Latency is per request in µs, from queuing the
// request to the end of the answer (trailers included) — h2load's --log-file third column.
// Every answer's :status, message and grpc-status are checked: a fast error is an error, not
// throughput. It speaks HTTP/2 on a raw socket (h2conn.mjs): node:http2's client was measured
// here to be slower than the server under test (see h2wire.mjs).
//
//   node bench/lib/h2client.mjs --port 9191 --frames mix.bin --c 16 --m 32 --duration 5
//   node bench/lib/h2client.mjs --port 9191 --fresh-every 1 --fresh-start 0 --requests 100000
//
// Prints one JSON object on stdout. runH2client() spawns it pinned to the load core.
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { LOAD_CPU } from './proc.mjs';
import { percentiles } from './stats.mjs';
import { mode as resolveMode } from './modes.mjs';
import { CHECK_PATH } from './protos.mjs';
import { RawGrpcConnection } from './h2conn.mjs';
import { walkHeaderBlock } from './h2wire.mjs';

const SELF = fileURLToPath(import.meta.url);

/** Spawn the client pinned to the load core and return its JSON result. */
export async function runH2client({ port, framesFile, mode, durationS, requests, latency = true, settleS = 0,
  freshEvery = 0, freshStart = 0, urlPath = CHECK_PATH }) {
  const m = resolveMode(mode);
  if (m.totalRps) throw new Error('h2client has no fixed-rate mode; use h2load for --rps');
  const args = ['-c', LOAD_CPU, process.execPath, SELF, '--port', String(port), '--path', urlPath,
    '--c', String(m.c), '--m', String(m.m), '--fresh-every', String(freshEvery), '--fresh-start', String(freshStart)];
  if (framesFile) args.push('--frames', framesFile);
  if (requests) args.push('--requests', String(requests));
  else args.push('--duration', String(durationS));
  if (settleS > 0 && !requests) args.push('--settle', String(settleS));
  if (!latency) args.push('--no-latency');
  const limitS = requests ? 600 : durationS + settleS + 30;
  const { stdout } = await promisify(execFile)('taskset', args, { timeout: limitS * 1000, maxBuffer: 1 << 20 });
  return { ...JSON.parse(stdout), mode: m.name };
}

/** A source of request bodies: cycle pre-built frames, every `freshEvery`-th one minted new. */
async function frameSource({ framesFile, freshEvery, freshStart }) {
  const { readFramePack, freshTemplate, patchFresh } = await import('./frames.mjs');
  const frames = framesFile ? readFramePack(framesFile) : [];
  if (!frames.length && !freshEvery) throw new Error('give --frames FILE and/or --fresh-every N');
  const tpl = freshEvery ? freshTemplate() : undefined;
  let n = 0;
  let fresh = freshStart;
  const next = () => {
    n++;
    if (tpl && (frames.length === 0 || n % freshEvery === 0)) return patchFresh(tpl, fresh++);
    return frames[n % frames.length];
  };
  return { next, distinct: frames.length, freshUsed: () => fresh - freshStart };
}

/**
 * Learn how this machine's HPACK encoder (nghttp2, inside node and grpc-js) writes the header
 * NAME "grpc-status" when it is not in the static table: usually Huffman-coded, which we do not
 * decode. A throwaway node:http2 server on 127.0.0.1 sends trailers {grpc-status: 0}; the one
 * literal name in that block is the encoding to match. Huffman coding is canonical (RFC 7541
 * Appendix B), so any server that Huffman-codes the name produces these same bytes.
 */
export async function calibrateGrpcStatusName() {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.resume();
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const answer = await new Promise((resolve, reject) => {
      const conn = new RawGrpcConnection({ port: server.address().port, path: '/calibrate', keepBlocks: true,
        onAnswer: (a) => { conn.close(); resolve(a); } });
      conn.connect().then(() => conn.send(Buffer.from([0, 0, 0, 0, 0])), reject);
    });
    let name;
    if (answer.block) walkHeaderBlock(answer.block, (_idx, n) => { if (n) name = { huffman: n.huffman, bytes: Buffer.from(n.bytes) }; });
    if (!name) throw new Error(`calibration failed: ${answer.reason ?? 'no literal name in the trailers'}`);
    return name;
  } finally {
    server.close();
  }
}

class Samples {
  constructor() { this.buf = new Float64Array(1 << 16); this.n = 0; }
  push(v) {
    if (this.n === this.buf.length) { const b = new Float64Array(this.buf.length * 2); b.set(this.buf); this.buf = b; }
    this.buf[this.n++] = v;
  }
  values() { return this.buf.subarray(0, this.n); }
}

/**
 * Drive the load; resolves to the result object printed by the CLI. `settle` (default: a
 * settleMs timer) is awaited with the load running before the clock starts.
 */
export async function drive({ port, urlPath, conns, streams, limitReq, durationMs, settleMs = 0, record, src,
  settle = settleMs > 0 ? () => new Promise((resolve) => setTimeout(resolve, settleMs)) : undefined }) {
  const grpcStatusName = await calibrateGrpcStatusName();
  const lat = new Samples();
  const reasons = new Map();
  let started = 0; let completed = 0; let counted = 0; let settled = 0; let errors = 0; let unverified = 0;
  let stopping = false; let tEnd = 0; let t0 = 0; let deadline = Infinity;
  // Answers before the clock starts (the settle period) are neither counted nor timed.
  let settling = settle !== undefined;
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const connections = [];

  const fire = (conn) => {
    if (stopping || started >= limitReq) { if (connections.every((c) => c.inflight === 0)) finish(); return; }
    started++;
    conn.send(src.next());
  };
  const onAnswer = (conn) => (a) => {
    const now = performance.now();
    if (!a.ok) { errors++; reasons.set(a.reason, (reasons.get(a.reason) ?? 0) + 1); }
    else if (a.grpcStatus === undefined) unverified++;
    if (settling) { settled++; fire(conn); return; }
    completed++;
    if (now <= deadline) { counted++; if (record) lat.push(a.latencyUs); }
    else if (!stopping) { stopping = true; tEnd = deadline; }
    if (completed >= limitReq && !stopping) { stopping = true; tEnd = now; }
    fire(conn);
  };
  for (let i = 0; i < conns; i++) {
    const conn = new RawGrpcConnection({ port, path: urlPath, grpcStatusName, onAnswer: (a) => handlers[i](a) });
    connections.push(conn);
  }
  const handlers = connections.map((c) => onAnswer(c));
  await Promise.all(connections.map((c) => c.connect()));

  for (const c of connections) for (let i = 0; i < streams; i++) fire(c);
  if (settling) await settle();
  settling = false;
  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  deadline = t0 + durationMs;
  await finished;
  tEnd ||= performance.now();
  const wallS = (performance.now() - t0) / 1000;
  for (const c of connections) c.close();
  const seconds = (tEnd - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const clientCpuS = (cpu.user + cpu.system) / 1e6;
  return {
    driver: 'h2client', seconds, rps: counted / seconds, requests: counted, served: completed, settledAnswers: settled, errors,
    // The measured window in ms since the epoch, to line up with other drivers' request logs.
    windowMs: [performance.timeOrigin + t0, performance.timeOrigin + tEnd],
    errorReasons: Object.fromEntries(reasons), unverifiedGrpcStatus: unverified,
    distinctFrames: src.distinct, freshRequests: src.freshUsed(),
    // clientCoreUtil near 1.0 would mean the CLIENT was the bottleneck and its req/s understates the server.
    clientCpuUsPerReq: (clientCpuS * 1e6) / completed, clientCoreUtil: clientCpuS / wallS,
    latencyUs: record ? percentiles(lat.values()) : undefined,
  };
}

async function main() {
  const { values: o } = parseArgs({ options: {
    port: { type: 'string' }, path: { type: 'string', default: CHECK_PATH }, frames: { type: 'string' },
    c: { type: 'string', default: '16' }, m: { type: 'string', default: '32' },
    duration: { type: 'string' }, requests: { type: 'string' }, settle: { type: 'string', default: '0' },
    'no-latency': { type: 'boolean', default: false },
    'fresh-every': { type: 'string', default: '0' }, 'fresh-start': { type: 'string', default: '0' },
  } });
  const limitReq = o.requests ? Number(o.requests) : Infinity;
  const durationMs = o.duration ? Number(o.duration) * 1000 : Infinity;
  if (!o.port || (limitReq === Infinity && durationMs === Infinity)) throw new Error('need --port and --duration or --requests');
  const src = await frameSource({ framesFile: o.frames, freshEvery: Number(o['fresh-every']), freshStart: Number(o['fresh-start']) });
  const out = await drive({ port: Number(o.port), urlPath: o.path, conns: Number(o.c), streams: Number(o.m),
    limitReq, durationMs, settleMs: Number(o.settle) * 1000, record: !o['no-latency'], src });
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  main().catch((err) => { console.error(err); process.exit(1); });
}
