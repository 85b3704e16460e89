#!/usr/bin/env node
// The edge's side of an uncached remote evaluation (evaluator.mode remote, issue 17 item 7), in
// one process against a stub control plane in a child process (node:http, keep-alive, one fixed
// answer): RemoteEvaluator.decide() for never-seen actions, serially, each one a real request
// on a real loopback socket. Printed per miss: µs of this process's CPU (process.cpuUsage: our
// code, its connections and the socket syscalls — the stub's work is not in it) and the wall p50,
// next to a reference: the same requests made with a bare undici Pool.request + body.text() +
// JSON.parse (`floor`: what the edge paid when it made its calls through undici). `overhead` =
// decide − floor; CPU, not wall time, so a loaded machine weighs on it less (the runs alternate,
// round by round). Needs `npm run build`.
//
//   node bench/micro/remote-miss.mjs [--dist dist] [--base DIR] [--rounds 7] [--n 3000]
//
// With --base (another build, e.g. `cp -r dist dist-base` before a change), both builds' decide()
// run in this one process, rounds alternating, and the median of paired ratios is printed.
import { Pool } from 'undici';
import { benchArgs, forkStub, loadBuilds, median, moduleOf, serveStub } from './lib.mjs';

const values = benchArgs({ rounds: 7, n: 3000 }, { stub: { type: 'boolean', default: false } });

if (values.stub) {
  await serveStub({ cacheControl: 'no-store', facts: 'none' });
} else {
  const { stub, port } = await forkStub(import.meta.url, ['--stub']);
  const url = `http://127.0.0.1:${port}`;
  const N = Number(values.n);
  const ROUNDS = Number(values.rounds);
  const { default: pino } = await import('pino');
  const { Registry } = await import('prom-client');

  async function evaluator(dir) {
    const { RemoteEvaluator } = await moduleOf(dir, 'evaluator/remote.js');
    const { RemoteMetrics } = await moduleOf(dir, 'evaluator/remote-metrics.js');
    const config = { mode: 'remote', url, timeout_ms: 1000, stale_if_error_ms: 0, connections: 4, breaker: { failures: 5, open_ms: 5000, half_open_probes: 1 } };
    return new RemoteEvaluator({ config, apiKey: 'k-bench', cache: { enabled: false, ttl_ms: 0, max_entries: 1 }, metrics: new RemoteMetrics(new Registry()), logger: pino({ level: 'silent' }) });
  }
  const rt = { fail_mode: 'closed', responses: { denied_status: 403, pending_status: 403, unavailable_status: 503, retry_after_seconds: 30 } };
  const request = { method: 'POST', path: '/v1/refunds/r-1', host: 'payments.internal', scheme: 'http', headers: { 'x-agent-id': 'billing-agent', 'content-type': 'application/json' }, query: { amount: '50' }, sourceIp: '10.0.0.7', principal: undefined };
  let seq = 0;
  const action = () => ({ agent_id: 'billing-agent', action_type: 'payments.refund', resource: `refund/r-${seq++}`, parameters: { amount: '50' }, context: { environment: 'production' } });

  const floorPool = new Pool(url, { connections: 4, keepAliveTimeout: 30_000, pipelining: 1 });
  const headers = { 'content-type': 'application/json', 'x-api-key': 'k-bench', accept: 'application/json' };
  const floor = async () => {
    const a = action();
    const body = JSON.stringify({ agent_id: a.agent_id, action_type: a.action_type, resource: a.resource, action_details: a.parameters, context: a.context });
    const res = await floorPool.request({ path: '/api/v1/actions/submit', method: 'POST', headers, body });
    return JSON.parse(await res.body.text());
  };
  // decide(input, deadline, rt); a build before it took (action, request, deadline, rt).
  const viaDecide = (ev) => (ev.decide.length === 3 ? () => ev.decide({ action: action(), request }, undefined, rt) : () => ev.decide(action(), request, undefined, rt));

  async function round(fn) {
    const wall = new Array(N);
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await fn();
      wall[i] = (performance.now() - t0) * 1000;
    }
    const c = process.cpuUsage(c0);
    wall.sort((x, y) => x - y);
    return { cpuUs: (c.user + c.system) / N, p50Us: wall[N >> 1] };
  }

  const builds = (await loadBuilds(values, evaluator)).map((ev, i) => [i === 0 ? 'dist' : 'base', ev]);
  const runs = [['floor', floor], ...builds.map(([name, ev]) => [name, viaDecide(ev)])];
  for (const [, fn] of runs) await round(fn); // warm-up
  const results = Object.fromEntries(runs.map(([name]) => [name, []]));
  for (let r = 0; r < ROUNDS; r++) for (const [name, fn] of runs) results[name].push(await round(fn));
  const out = {};
  for (const [name, rs] of Object.entries(results)) out[name] = { cpuUs: +median(rs.map((x) => x.cpuUs)).toFixed(1), p50Us: +median(rs.map((x) => x.p50Us)).toFixed(1) };
  for (const [name] of builds) out[name].overheadCpuUs = +median(results[name].map((x, i) => x.cpuUs - results.floor[i].cpuUs)).toFixed(1);
  if (values.base) out.ratioDistToBase = +median(results.dist.map((x, i) => x.cpuUs / results.base[i].cpuUs)).toFixed(3);
  console.log(JSON.stringify(out, null, 2));
  await floorPool.close();
  for (const [, ev] of builds) await ev.close();
  stub.kill();
}
