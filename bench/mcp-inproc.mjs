/**
 * The MCP check's CPU in process, without the transport: decode → check → encode of the
 * mcp-4k-vs-nobody frames (bench/lib/frames.mjs) on dist/, alternating rounds of the no-body
 * refund (A) and the 4 KiB tools/call (B), CPU µs per check from process.cpuUsage(). Steadier
 * than the h2load scenario on a loaded machine (no second process, no sockets), so it is what the
 * optimizations log quotes beside it. Decision-log lines go to stdout: run with `> /dev/null`.
 *
 *   node bench/mcp-inproc.mjs [--rounds 7] [--calls 20000] [--config bench/configs/mcp.yaml] > /dev/null
 *   node bench/mcp-inproc.mjs --fresh-ids 1000 > /dev/null   # B: bodies that differ in their id only
 *   node --cpu-prof --cpu-prof-dir /tmp/prof bench/mcp-inproc.mjs --only b > /dev/null
 */
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { loadRuntime } from '../dist/config/load.js';
import { createLogger } from '../dist/observability/logger.js';
import { buildApp } from '../dist/app.js';
import { envoyMethods } from '../dist/adapters/envoy/server.js';
import { encodeFrame, mcpToolCall, refund, unframe } from './lib/frames.mjs';

const { values: o } = parseArgs({ options: {
  rounds: { type: 'string', default: '7' }, calls: { type: 'string', default: '20000' },
  config: { type: 'string', default: new URL('configs/mcp.yaml', import.meta.url).pathname },
  only: { type: 'string' },
  'fresh-ids': { type: 'string', default: '0' },
} });
const { runtime } = await loadRuntime(o.config, 1);
const logger = createLogger({ level: 'warn', redaction: runtime.redaction });
const app = await buildApp({ runtime, logger, batchLogs: true, registry: new Registry(), defaultMetrics: false });
const check = envoyMethods(app.pipeline, app.health).get('/envoy.service.auth.v3.Authorization/Check');
// --fresh-ids N: B cycles N tools/call bodies that differ only in their JSON-RPC id, as a client
// numbering its requests sends them (N above the memo's 128: every body is parsed and hashed).
const fresh = Number(o['fresh-ids']);
const withId = (id) => { const f = mcpToolCall(4096); f.attributes.request.http.body = f.attributes.request.http.body.replace('"id":42', `"id":${id}`); return f; };
const sides = { a: [unframe(encodeFrame(refund()))], b: fresh > 0 ? Array.from({ length: fresh }, (_, i) => unframe(encodeFrame(withId(100000 + i)))) : [unframe(encodeFrame(mcpToolCall(4096)))] };
for (const [name, msgs] of Object.entries(sides)) {
  const out = check.handle(msgs[0], undefined);
  if (out instanceof Promise || out.length < 5) throw new Error(`side ${name}: no synchronous answer`);
}
const calls = Number(o.calls);
function round(msgs) {
  const t = process.cpuUsage();
  for (let i = 0; i < calls; i++) check.handle(msgs[i % msgs.length], undefined);
  const d = process.cpuUsage(t);
  return (d.user + d.system) / calls;
}
const names = o.only ? [o.only] : ['a', 'b'];
for (const n of names) round(sides[n]); // warm-up
const got = { a: [], b: [] };
for (let r = 0; r < Number(o.rounds); r++) for (const n of names) got[n].push(round(sides[n]));
const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const line = names.map((n) => `${n === 'a' ? 'refund' : 'mcp-4k'} ${med(got[n]).toFixed(2)} µs/check (${got[n].map((x) => x.toFixed(1)).join(' ')})`).join(' | ');
const ratio = names.length === 2 ? ` | CPU B÷A ${(med(got.b) / med(got.a)).toFixed(2)}` : '';
process.stderr.write(`${line}${ratio}\n`);
await app.shutdown(0);
process.exit(0);
