#!/usr/bin/env node
// The edge's cached path (evaluator.mode remote, issue 17 item 7: cached remote decisions ≥ 0.9×
// local cached ones), in one process and without the gateway's socket: the contract config's
// refund handed to CheckPipeline.check() (normalize → map → cache → finish, decision log off) on
// an app that decides locally and on an edge app whose answer is in its remote cache, after one
// miss answered by a stub control plane in a child process (keep-alive, `max-age=86400`, both
// caches' ttl_ms a day: every check after it is a hit, however slow the machine). Printed: µs
// of CPU (process.cpuUsage) per check, median of the rounds, and edge ÷ local per round.
// Also the hit alone, below the pipeline: RemoteEvaluator.decide() against the local path's
// fingerprint + DecisionCache.get, each on a fresh mapping of the request (normalize + map, the
// same for both, printed as `map` so it can be taken off). And `mcp-4k`: decide() on a hit for
// an MCP tools/call whose 4 KiB of arguments are its parameters (EvalInput.parametersKey set, as
// mapping/mcp-memo.ts sets it), 1,000 inputs of equal content cycled. Needs `npm run build`.
//
//   taskset -c 1 node bench/micro/remote-hit.mjs [--dist dist] [--base DIR] [--rounds 7] [--n 100000] [--facts method,headers.x-tenant]
//
// --facts: the request facts the stub says it reads (x-ascend-request-facts; default none, what
// a control plane on core.yaml says), so the edge forwards them and keys its cache by them.
// With --base (another build, e.g. `cp -r dist dist-base` before a change), both builds run in
// this one process, their rounds alternating, and the median of paired ratios is printed.
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { appsOf, benchArgs, cpuPerCall, forkStub, loadBuilds, median, moduleOf, serveStub } from './lib.mjs';

const values = benchArgs({ rounds: 7, n: 100000 }, { facts: { type: 'string', default: 'none' }, stub: { type: 'boolean', default: false } });

if (values.stub) {
  await serveStub({ cacheControl: 'max-age=86400', facts: values.facts });
} else {
  const { stub, port } = await forkStub(import.meta.url, ['--stub', '--facts', values.facts]);
  const N = Number(values.n);
  const ROUNDS = Number(values.rounds);
  const dir = mkdtempSync(path.join(tmpdir(), 'ascend-remote-hit-'));
  const core = `decision_log: {enabled: false}\n${readFileSync(new URL('../configs/core.yaml', import.meta.url), 'utf8').replace(/^server:.*$/m, '').replace(/^cache:.*$/m, 'cache: {ttl_ms: 86400000, max_entries: 100000}')}`;
  const localFile = path.join(dir, 'local.yaml');
  const edgeFile = path.join(dir, 'edge.yaml');
  writeFileSync(localFile, core);
  writeFileSync(edgeFile, `${core}\nevaluator: {mode: remote, url: "http://127.0.0.1:${port}", api_key: k-bench, timeout_ms: 1000}\n`);
  const raw = {
    adapter: 'envoy', method: 'POST', target: '/v1/refunds/r-1?amount=50', host: 'payments.internal', sourceIp: '10.0.0.7',
    headers: { ':authority': 'payments.internal', ':method': 'POST', ':path': '/v1/refunds/r-1?amount=50', 'content-type': 'application/json', 'x-agent-id': 'billing-agent', 'x-tenant': 'acme', 'x-request-id': 'b1c2d3e4-0000-4000-8000-000000000001' },
  };

  const args = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`field_${i}`, 'x'.repeat(50)]));
  const mcpView = { method: 'POST', path: '/mcp', host: 'tools.internal', scheme: 'http', headers: {}, query: {}, sourceIp: '10.0.0.7', principal: undefined };
  const mcpInput = () => ({
    action: { agent_id: 'billing-agent', action_type: 'mcp.tools.call', resource: 'tool/search', parameters: structuredClone(args), context: { mcp: { method: 'tools/call', tool: 'search' }, gateway: { adapter: 'envoy' } } },
    request: mcpView, parametersKey: `0:${'ab'.repeat(32)}`,
  });

  /** One build: a local app, an edge app, and the bare hit paths. */
  async function build(d) {
    const { RemoteEvaluator } = await moduleOf(d, 'evaluator/remote.js');
    const { RemoteMetrics } = await moduleOf(d, 'evaluator/remote-metrics.js');
    const { DecisionCache } = await moduleOf(d, 'evaluator/cache.js');
    const { normalize } = await moduleOf(d, 'gateway/normalize.js');
    const { Registry } = await import('prom-client');
    const apps = await appsOf(d, 'warn');
    const logger = apps.logger();
    const app = (file) => apps.app(file, logger);
    const local = await app(localFile);
    const edge = await app(edgeFile);
    const rt = local.state.runtime;
    const ev = new RemoteEvaluator({ config: edge.state.runtime.config.evaluator, apiKey: 'k-bench', cache: rt.config.cache, metrics: new RemoteMetrics(new Registry()), logger });
    const cache = new DecisionCache({ enabled: true, ttlMs: 86_400_000, maxEntries: 100_000 });
    const map = () => rt.mapper.map(normalize(raw, rt.normalize)).input;
    // decide(input, deadline, rt); a build before it took (action, request, deadline, rt).
    const decide = ev.decide.length === 3 ? (i) => ev.decide(i, undefined, rt.config) : (i) => ev.decide(i.action, i.request, undefined, rt.config);
    // Prime: one miss each (the first also learns the request facts; the second is then keyed by them).
    for (let i = 0; i < 2; i++) {
      await edge.pipeline.check(raw);
      await decide(map());
    }
    cache.set(rt.fingerprint(map()), rt.engine.evaluate(map()));
    const mcp = Array.from({ length: 1000 }, mcpInput);
    await decide(mcp[0]);
    await decide(mcp[1]);
    let m = 0;
    const sync = (r) => {
      if (r instanceof Promise || r === undefined) throw new Error(`${d}: not a synchronous hit`);
    };
    return {
      runs: {
        local: () => sync(local.pipeline.check(raw)),
        edge: () => sync(edge.pipeline.check(raw)),
        map: () => map(),
        'map+local hit': () => sync(cache.get(rt.fingerprint(map()))),
        'map+remote hit': () => sync(decide(map())),
        'remote hit mcp-4k': () => sync(decide(mcp[m++ % 1000])),
      },
      async close() {
        await ev.close();
        await local.shutdown(0);
        await edge.shutdown(0);
      },
    };
  }

  const round = (fn) => cpuPerCall(N, fn);

  const builds = (await loadBuilds(values, build)).map((b, i) => [i === 0 ? 'dist' : 'base', b]);
  const results = {};
  for (const [b, { runs }] of builds) for (const [name, fn] of Object.entries(runs)) {
    round(fn); // warm-up
    results[`${b} ${name}`] = [];
  }
  for (let r = 0; r < ROUNDS; r++) for (const [b, { runs }] of builds) for (const [name, fn] of Object.entries(runs)) results[`${b} ${name}`].push(round(fn));
  const out = { cpuUsPerCheck: {}, edgeOverLocal: {}, hitUs: {} };
  for (const [k, rs] of Object.entries(results)) out.cpuUsPerCheck[k] = +median(rs).toFixed(3);
  for (const [b] of builds) {
    out.edgeOverLocal[b] = +median(results[`${b} edge`].map((x, i) => x / results[`${b} local`][i])).toFixed(3);
    out.hitUs[`${b} local`] = +median(results[`${b} map+local hit`].map((x, i) => x - results[`${b} map`][i])).toFixed(3);
    out.hitUs[`${b} remote`] = +median(results[`${b} map+remote hit`].map((x, i) => x - results[`${b} map`][i])).toFixed(3);
    out.hitUs[`${b} remote mcp-4k`] = out.cpuUsPerCheck[`${b} remote hit mcp-4k`];
  }
  if (values.base) {
    out.distOverBase = {
      edge: +median(results['dist edge'].map((x, i) => x / results['base edge'][i])).toFixed(3),
      'remote hit': +median(results['dist map+remote hit'].map((x, i) => (x - results['dist map'][i]) / (results['base map+remote hit'][i] - results['base map'][i]))).toFixed(3),
      'remote hit mcp-4k': +median(results['dist remote hit mcp-4k'].map((x, i) => x / results['base remote hit mcp-4k'][i])).toFixed(3),
    };
  }
  console.log(JSON.stringify(out, null, 2));
  for (const [, b] of builds) await b.close();
  stub.kill();
  rmSync(dir, { recursive: true, force: true });
}
