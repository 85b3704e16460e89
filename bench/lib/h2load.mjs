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
  ensureTool('h2load', 'nghttp2-client');
  const m = resolveMode(mode);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h2load-'));
  const logFile = path.join(dir, 'requests.log');
  const args = ['-c', LOAD_CPU, 'h2load', '-D', `${Math.round(durationS * 1000)}ms`, '-c', String(m.c), '-m', String(m.m),
    '-d', frameFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers'];
  if (m.totalRps) args.push('--rps', String(Math.max(1, Math.round(m.totalRps / m.c))));
  // h2load leaves the warm-up's requests out of its counts, req/s and --log-file.
  if (settleS > 0) args.push('--warm-up-time', `${Math.round(settleS * 1000)}ms`);
  if (latency) args.push('--log-file', logFile);
  args.push(`http://127.0.0.1:${port}${urlPath}`);
  try {
    const { stdout } = await run('taskset', args, { timeout: (durationS + settleS + 30) * 1000, maxBuffer: 16 << 20 });
    const summary = parseH2loadOutput(stdout);
    summary.seconds -= settleS; // "finished in" counts the warm-up too
    const errors = summary.failed + summary.errored + summary.timeout;
    const requests = latency ? parseH2loadRequests(readFileSync(logFile, 'latin1')) : undefined;
    return {
      driver: 'h2load', mode: m.name, ...summary, errors,
      // The server also worked on the requests still in flight when the clock stopped.
      served: Math.max(summary.requests, summary.status2xx || 0),
      latencyUs: requests ? percentiles(requests.map((r) => r.us)) : undefined,
      ...(keepRequests ? { requestLog: requests } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
