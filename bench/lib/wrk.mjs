// The wrk driver for the HTTP adapters: HTTP/1.1 keep-alive, one thread pinned to the load
// core. wrk is C, so the client is not what limits a node server on the other core (a node
// load generator such as autocannon would compete with a fastify server on equal terms).
// A Lua script sets the request and prints the percentiles as JSON (wrk's own --latency table
// stops at p99 and rounds).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LOAD_CPU } from './proc.mjs';
import { ensureTool } from './tools.mjs';
import { mode as resolveMode } from './modes.mjs';

// Long brackets: no escaping needed as long as the text does not contain "]==]".
const luaString = (s) => { if (s.includes(']==]')) throw new Error('unsupported text in wrk request'); return `[==[${s}]==]`; };

/** The Lua script for one request shape. */
export function wrkScript({ method = 'GET', headers = {}, body }) {
  const lines = [`wrk.method = ${luaString(method)}`];
  // The spaces matter: "[[" would open a Lua long string.
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[ ${luaString(k)} ] = ${luaString(v)}`);
  if (body !== undefined) lines.push(`wrk.body = ${luaString(body)}`);
  lines.push(`done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%.0f,"duration_us":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f,"socket_errors":%.0f,"non2xx":%.0f}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), e.connect + e.read + e.write + e.timeout, e.status))
end`);
  return `${lines.join('\n')}\n`;
}

/** Run wrk once against 127.0.0.1:port with `request` {method, path, headers, body}. */
export async function runWrk({ port, request, mode, durationS, latency = true }) {
  ensureTool('wrk', 'wrk');
  const m = resolveMode(mode);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wrk-'));
  const script = path.join(dir, 'request.lua');
  writeFileSync(script, wrkScript(request));
  // wrk takes whole seconds.
  const seconds = Math.max(1, Math.round(durationS));
  try {
    const { stdout } = await promisify(execFile)('taskset', ['-c', LOAD_CPU, 'wrk', '-t1', `-c${m.c * m.m}`, `-d${seconds}s`,
      '-s', script, `http://127.0.0.1:${port}${request.path}`], { timeout: (seconds + 30) * 1000 });
    const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
    if (!line) throw new Error(`could not parse wrk output:\n${stdout}`);
    const r = JSON.parse(line.slice(8));
    const secs = r.duration_us / 1e6;
    return {
      driver: 'wrk', mode: m.name, seconds: secs, rps: r.requests / secs, requests: r.requests, served: r.requests,
      errors: r.socket_errors + r.non2xx,
      latencyUs: latency ? { p50: r.p50, p90: r.p90, p99: r.p99, p999: r.p999, samples: r.requests } : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
