#!/usr/bin/env node
// The serial (one connection) latency tail of a gateway endpoint, measured so that a loaded
// machine matters less than in a pair of fresh processes: bare fastify answering a constant JSON
// and one or more sidecar builds (this checkout's dist/, and any --base DIR: another build kept
// inside the repo, e.g. `cp -r dist dist-base` before a change), each its own process on the
// server core, stdout to a file as in bench/http.mjs, all started once and warmed at saturation,
// then measured in interleaved rounds by h2load --h1 (one connection, each request's own time
// from its --log-file) on the load core. Reported per server: the median over rounds of p50,
// p90 and p99, and every round's p99 — a round another process disturbed shows as an outlier in
// every column of that round, which the median ignores.
//   node bench/serial-ab.mjs [--endpoint forward-auth|kong|kong-opa] [--rounds 9] [--seconds 3]
//        [--base DIR ...] [--config FILE ...]   (each --config adds a sidecar on that config)
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REQUESTS } from './http-scenarios.mjs';
import { runH2loadH1 } from './lib/h2load.mjs';
import { SERVER_CPU, freePort } from './lib/proc.mjs';

const { values } = parseArgs({ options: {
  endpoint: { type: 'string', default: 'forward-auth' }, rounds: { type: 'string', default: '9' },
  seconds: { type: 'string', default: '3' }, base: { type: 'string', multiple: true, default: [] },
  config: { type: 'string', multiple: true, default: [] },
} });
const request = { kong: REQUESTS.kong, 'forward-auth': REQUESTS.forwardAuth, 'kong-opa': REQUESTS.kongOpa }[values.endpoint];
if (request === undefined) throw new Error(`unknown endpoint ${values.endpoint} (forward-auth, kong or kong-opa)`);
const node = process.execPath;
const logs = mkdtempSync(join(tmpdir(), 'serial-ab-'));

const servers = [{ name: 'fastify-bare', argv: (port) => [node, 'bench/baseline/fastify-bare.mjs', '--port', String(port)] }];
const sidecar = (name, dist, config) => ({
  name,
  argv: (port, grpcPort) => [node, join(dist, 'cli.js'), 'serve', '--config', config, '--grpc-port', String(grpcPort), '--http-port', String(port)],
});
for (const dir of ['dist', ...values.base]) {
  if (!existsSync(join(dir, 'cli.js'))) throw new Error(`${dir}/cli.js is missing: build it first (npm run build)`);
  servers.push(sidecar(dir === 'dist' ? 'sidecar' : `sidecar ${dir}`, resolve(dir), 'bench/configs/core.yaml'));
}
for (const config of values.config) servers.push(sidecar(`sidecar ${config}`, resolve('dist'), config));

const started = [];
const stopAll = () => { for (const c of started) c.kill(); };
process.on('exit', stopAll);
try {
  // One at a time: several node processes starting together on one core take long.
  for (const s of servers) {
    s.port = await freePort();
    s.log = join(logs, `${started.length}.log`);
    const out = openSync(s.log, 'w');
    started.push(spawn('taskset', ['-c', SERVER_CPU, ...s.argv(s.port, await freePort())], { stdio: ['ignore', out, out] }));
    s.rounds = [];
    await waitReady(s);
  }
  for (const s of servers) await runH2loadH1({ port: s.port, request, mode: 'saturation', durationS: 2, latency: false });
  const rounds = Number(values.rounds);
  for (let r = 0; r < rounds; r++) {
    for (const s of servers) {
      const run = await runH2loadH1({ port: s.port, request, mode: 'serial', durationS: Number(values.seconds), settleS: 0.3 });
      if (run.errors > 0) throw new Error(`${s.name}: ${run.errors} requests failed in round ${r + 1}`);
      s.rounds.push(run.latencyUs);
    }
    process.stderr.write(`[serial-ab] round ${r + 1}/${rounds}\n`);
  }
} finally {
  stopAll();
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
console.log(`${values.endpoint}, serial, ${values.rounds} rounds × ${values.seconds} s (µs; logs in ${logs})`);
console.log('| server | p50 | p90 | p99 | p99 of each round |\n|---|---:|---:|---:|---|');
for (const s of servers) {
  const col = (k) => median(s.rounds.map((x) => x[k]));
  console.log(`| ${s.name} | ${col('p50')} | ${col('p90')} | **${col('p99')}** | ${s.rounds.map((x) => x.p99).join(', ')} |`);
}

async function waitReady(s) {
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${s.port}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${s.name} did not answer /readyz on ${s.port} within 60 s (its output: ${s.log})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
