#!/usr/bin/env node
// The h2load driver: one pre-framed gRPC body per run (h2load sends the -d file as every
// request's body), pinned to the load core with taskset so it never steals the server's core.
//
// Standalone: node bench/lib/h2load.mjs --port 9191 --pid <server pid> [--mode serial] [--duration 5]
// measures a running server with the cached-allow frame (CPU/RSS from /proc/<pid>).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LOAD_CPU } from './proc.mjs';
import { ensureTool } from './tools.mjs';
import { percentiles } from './stats.mjs';
import { mode as resolveMode } from './modes.mjs';
import { CHECK_PATH } from './protos.mjs';

const run = promisify(execFile);

/** Pull the numbers out of h2load's summary. */
export function parseH2loadOutput(text) {
  const num = (re) => { const m = text.match(re); return m ? Number(m[1]) : NaN; };
  const out = {
    // "finished in 3.00s, …" or "finished in 506.12ms, …"
    seconds: (() => { const m = text.match(/finished in ([\d.]+)(m?s),/); return m ? Number(m[1]) / (m[2] === 'ms' ? 1000 : 1) : NaN; })(),
    rps: num(/finished in [\d.]+m?s, ([\d.]+) req\/s/),
    requests: num(/requests: \d+ total, \d+ started, (\d+) done/),
    succeeded: num(/(\d+) succeeded/),
    failed: num(/(\d+) failed/),
    errored: num(/(\d+) errored/),
    timeout: num(/(\d+) timeout/),
    status2xx: num(/status codes: (\d+) 2xx/),
  };
  if (!Number.isFinite(out.rps)) throw new Error(`could not parse h2load output:\n${text.slice(-2000)}`);
  return out;
}

/** µs latencies from an h2load --log-file (tab-separated: start µs, status, duration µs). */
export function parseH2loadLog(text) {
  return parseH2loadRequests(text).map((r) => r.us);
}

/** Every request of an h2load --log-file: { startMs (since the epoch), us (its latency) }. */
export function parseH2loadRequests(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const [start, , us] = line.split('\t');
    if (us !== undefined) out.push({ startMs: Number(start) / 1000, us: Number(us) });
  }
  return out;
}

/**
 * Run h2load once. `mode` from modes.mjs; `frameFile` holds ONE gRPC frame (h2load cannot cycle
 * bodies — the mix scenario uses h2client.mjs). Returns req/s, counts and latency percentiles (µs).
 */
export async function runH2load({ port, frameFile, mode, durationS, latency = true, settleS = 0, urlPath = CHECK_PATH, keepRequests = false }) {
  const m = resolveMode(mode);
  const args = ['-c', String(m.c), '-m', String(m.m), '-d', frameFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers'];
  if (m.totalRps) args.push('--rps', String(Math.max(1, Math.round(m.totalRps / m.c))));
  return h2load({ args, url: `http://127.0.0.1:${port}${urlPath}`, durationS, latency, settleS }, (summary, requests) => ({
    driver: 'h2load', mode: m.name, ...summary, errors: summary.failed + summary.errored + summary.timeout,
    // The server also worked on the requests still in flight when the clock stopped.
    served: Math.max(summary.requests, summary.status2xx || 0),
    latencyUs: requests ? percentiles(requests.map((r) => r.us)) : undefined,
    ...(keepRequests ? { requestLog: requests } : {}),
  }));
}

/**
 * Run h2load once, pinned to the load core, with `args` (load shape, body, headers) for `url`;
 * `shape(summary, requests)` makes the driver's result (requests: the --log-file's rows when
 * `latency`). A temporary folder holds the log and `args`' files (`dir` is passed to `files`).
 */
async function h2load({ args, url, durationS, latency, settleS, files }, shape) {
  ensureTool('h2load', 'nghttp2-client');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h2load-'));
  const logFile = path.join(dir, 'requests.log');
  const argv = ['-c', LOAD_CPU, 'h2load', '-D', `${Math.round(durationS * 1000)}ms`, ...args, ...(files ? files(dir) : [])];
  // h2load leaves the warm-up's requests out of its counts, req/s and --log-file.
  if (settleS > 0) argv.push('--warm-up-time', `${Math.round(settleS * 1000)}ms`);
  if (latency) argv.push('--log-file', logFile);
  argv.push(url);
  try {
    const { stdout } = await run('taskset', argv, { timeout: (durationS + settleS + 30) * 1000, maxBuffer: 16 << 20 });
    const summary = parseH2loadOutput(stdout);
    summary.seconds -= settleS; // "finished in" counts the warm-up too
    return shape(summary, latency ? parseH2loadRequests(readFileSync(logFile, 'latin1')) : undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One HTTP/1.1 request shape ({method, path, headers, body}) from h2load --h1, for the serial
 * rows of bench/http.mjs. Why not wrk there: wrk "corrects" its latency histogram for
 * coordinated omission — every sample longer than twice the mean interval adds synthetic samples
 * — which suits a constant-rate client, not a closed one-connection loop measuring the floor: one
 * 10 ms stall of a 2 s serial run adds ~200 samples, so wrk's p99 is a count of stalls. Measured
 * against a bare node:http server, one core each (2026-12-07): wrk 26,226 requests in 2.0 s with a
 * mean of 548 µs (14.4 s of latency in a 2 s run) and p99 5.3 ms; h2load's per-request log in the
 * same minute: 16,543 requests, mean 118 µs (1.95 s in all), p99 2.3 ms. h2load's --log-file
 * holds each request's own time, so the percentiles here are of real requests only.
 */
export async function runH2loadH1({ port, request, mode, durationS, latency = true, settleS = 0 }) {
  const m = resolveMode(mode);
  const { method = 'GET', path: urlPath, headers = {}, body } = request;
  // h2load sends GET, or POST with -d: the two methods the HTTP scenarios use.
  if (method !== (body === undefined ? 'GET' : 'POST')) throw new Error(`h2load --h1 sends GET without a body or POST with one, not ${method}${body === undefined ? '' : ' with a body'}`);
  // As wrk does: c × m connections with one request in flight each (-m on HTTP/1.1 would pipeline).
  const args = ['--h1', '-c', String(m.c * m.m), '-m', '1'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const files = body === undefined ? undefined : (dir) => {
    writeFileSync(path.join(dir, 'body'), body);
    return ['-d', path.join(dir, 'body')];
  };
  return h2load({ args, files, url: `http://127.0.0.1:${port}${urlPath}`, durationS, latency, settleS }, (summary, requests) => ({
    driver: 'h2load-h1', mode: m.name, ...summary, served: summary.requests,
    errors: summary.failed + summary.errored + summary.timeout + (summary.requests - (summary.status2xx || 0)),
    latencyUs: requests ? percentiles(requests.map((r) => r.us)) : undefined,
  }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: {
    port: { type: 'string' }, pid: { type: 'string' }, mode: { type: 'string', default: 'saturation' },
    duration: { type: 'string', default: '5' }, warmup: { type: 'string', default: '1' }, frame: { type: 'string' },
  } });
  if (!values.port) throw new Error('--port is required');
  const { measure } = await import('./measure.mjs');
  const { encodeFrame, refund } = await import('./frames.mjs');
  let frameFile = values.frame;
  if (!frameFile) {
    frameFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'frame-')), 'allow.bin');
    writeFileSync(frameFile, encodeFrame(refund()));
  }
  const result = await measure({
    pid: values.pid ? Number(values.pid) : undefined,
    warmS: Number(values.warmup), durationS: Number(values.duration),
    load: (durationS, latency) => runH2load({ port: values.port, frameFile, mode: values.mode, durationS, latency }),
  });
  console.log(JSON.stringify(result, null, 2));
}
