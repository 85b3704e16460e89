// Single requests to a server under test: readiness and correctness probes, never load.
//
// Before a scenario measures anything it checks that the server answers the scenario's request
// with the expected decision — a benchmark of fast errors is worse than none.
import http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadTypes, CHECK_PATH } from './protos.mjs';
import { unframe } from './frames.mjs';

const HEALTH_PATH = '/grpc.health.v1.Health/Check';
// HealthCheckRequest{service: ""} is the empty message; HealthCheckResponse{status: SERVING=1}
// is the two bytes 08 01. Hand-encoded so the harness needs no health proto.
const EMPTY_FRAME = Buffer.from([0, 0, 0, 0, 0]);

/** One gRPC unary call over a fresh HTTP/2 session: { grpcStatus, grpcMessage, message }. */
export function grpcUnary(port, path, frameBuf, { timeoutMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const fail = (err) => { session.destroy(); reject(err); };
    session.on('error', fail);
    session.setTimeout(timeoutMs, () => fail(new Error(`no answer on ${path} within ${timeoutMs} ms`)));
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    const chunks = [];
    let headers = {};
    let trailers = {};
    req.on('response', (h) => { headers = h; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c) => chunks.push(c));
    req.on('error', fail);
    req.on('end', () => {
      session.close();
      const status = trailers['grpc-status'] ?? headers['grpc-status']; // trailers-only answers
      const body = Buffer.concat(chunks);
      resolve({ httpStatus: headers[':status'], grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: trailers['grpc-message'] ?? headers['grpc-message'], message: body.length ? unframe(body) : undefined });
    });
    req.end(frameBuf);
  });
}

/** Check one frame: { decision: 'allow'|'deny', code, response } (code = CheckResponse.status.code). */
export async function checkDecision(port, frameBuf) {
  const r = await grpcUnary(port, CHECK_PATH, frameBuf);
  if (r.grpcStatus !== 0 || !r.message) {
    throw new Error(`Check failed at the gRPC level: grpc-status ${r.grpcStatus} ${r.grpcMessage ?? ''}`);
  }
  const { CheckResponse } = loadTypes();
  const response = CheckResponse.toObject(CheckResponse.decode(r.message), { enums: String, longs: String });
  const code = response.status?.code ?? 0;
  return { decision: code === 0 ? 'allow' : 'deny', code, response };
}

/** grpc.health.v1 overall health: true when SERVING. */
export async function grpcServing(port) {
  const r = await grpcUnary(port, HEALTH_PATH, EMPTY_FRAME);
  return r.grpcStatus === 0 && r.message?.length === 2 && r.message[0] === 0x08 && r.message[1] === 0x01;
}

/** HTTP GET status code, or 0 on a connection error. */
export async function httpStatus(url, { timeoutMs = 1000 } = {}) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch { return 0; }
}

/**
 * Wait until `isReady()` resolves true, the child dies, or the deadline passes. Returns
 * { ready: true } or { ready: false, reason } — a reason a person can act on.
 */
export async function waitReady(child, isReady, { timeoutMs = 15000, what = 'server' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let exited;
  child.exited.then((e) => { exited = e; });
  while (Date.now() < deadline) {
    if (exited) return { ready: false, reason: `${what} exited (code ${exited.code}${exited.signal ? `, ${exited.signal}` : ''}) before it was ready` };
    try { if (await isReady()) return { ready: true }; } catch { /* not yet */ }
    await sleep(100);
  }
  return { ready: false, reason: `${what} not ready within ${timeoutMs} ms` };
}

/**
 * The sidecar's decision-cache counters from /metrics (Prometheus text), summed over labels;
 * undefined when the endpoint or the metrics are absent. Used to report the real hit ratio.
 */
export async function cacheCounters(httpPort) {
  let text;
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (res.status !== 200) return undefined;
    text = await res.text();
  } catch { return undefined; }
  const sum = (name) => {
    let total; // stays undefined when the metric is absent
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)`, 'gm'))) total = (total ?? 0) + Number(m[1]);
    return total;
  };
  const hits = sum('ascend_decision_cache_hits_total');
  const misses = sum('ascend_decision_cache_misses_total');
  return hits === undefined && misses === undefined ? undefined : { hits: hits ?? 0, misses: misses ?? 0 };
}
