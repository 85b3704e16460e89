#!/usr/bin/env node
// What the HTTP transport costs a gateway check, measured so that a loaded machine matters less:
// bare fastify answering a constant JSON, the sidecar with its fast path on node:http
// (`server.http_transport: node`) and on our HTTP/1.1 server (`h1`, the default), each its own
// process on one core, driven in interleaved rounds by wrk (64 connections, or 1 with --serial)
// on the other. Per round and server: server CPU µs per request (utime + stime from
// /proc/PID/stat ÷ requests). Reported: the minimum and the median over rounds (other processes
// only ever add CPU time: the minimum is the steadier), and each against bare fastify.
// Run after `npm run build`:
//   node bench/http1-ab.mjs [--rounds 8] [--seconds 2] [--serial] [--endpoint kong|forward-auth|kong-opa|submit] [--base DIR]
// --base DIR (a copy of dist made before a change, inside the worktree): the sidecar of that
// build takes the node:http sidecar's place, so a change's effect on the whole server is
// measured against the build before it, both on h1, in the same interleaved rounds.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REQUESTS } from './http-scenarios.mjs';

const { values } = parseArgs({ options: {
  rounds: { type: 'string', default: '8' }, seconds: { type: 'string', default: '2' },
  serial: { type: 'boolean', default: false }, endpoint: { type: 'string', default: 'kong' },
  'server-cpu': { type: 'string', default: '1' }, 'load-cpu': { type: 'string', default: '0' },
  base: { type: 'string' },
} });
const request = { kong: REQUESTS.kong, 'forward-auth': REQUESTS.forwardAuth, 'kong-opa': REQUESTS.kongOpa, submit: REQUESTS.submit }[values.endpoint];
if (request === undefined) throw new Error(`unknown endpoint ${values.endpoint}`);
// The REST submit needs the agent key of core-api.yaml; the node:http side is the same config with http_transport: node.
const config = values.endpoint === 'submit' ? 'bench/configs/core-api.yaml' : 'bench/configs/core.yaml';
const CLK = Number(execFileSync('getconf', ['CLK_TCK']).toString());
const dir = mkdtempSync(join(tmpdir(), 'http1-ab-'));
const lua = join(dir, 'req.lua');
writeFileSync(lua, [
  `wrk.method = ${JSON.stringify(request.method)}`,
  ...(request.body === undefined ? [] : [`wrk.body = ${JSON.stringify(request.body)}`]),
  ...Object.entries(request.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
].join('\n'));

function nodeVariant(file) {
  const text = readFileSync(file, 'utf8').replace(/^server: \{(.*)\}$/m, 'server: {$1, http_transport: node}');
  const out = join(dir, 'node-http.yaml');
  writeFileSync(out, text);
  return out;
}

let nextPort = 21000 + Math.floor(Math.random() * 20000);
function start(name, argv) {
  const port = nextPort++;
  const args = argv.map((a) => a.replace('{port}', String(port)));
  const child = spawn('taskset', ['-c', values['server-cpu'], ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { name, port, child };
}
const sidecar = (config, dist = 'dist') => [process.execPath, `${dist}/cli.js`, 'serve', '--config', config, '--grpc-port', '0', '--http-port', '{port}'];
const servers = [
  start('fastify-bare', [process.execPath, 'bench/baseline/fastify-bare.mjs', '--port', '{port}']),
  values.base === undefined ? start('sidecar node:http', sidecar(nodeVariant(config))) : start(`sidecar h1 (${values.base})`, sidecar(config, values.base)),
  start('sidecar h1', sidecar(config)),
];

async function ready(s) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${s.name} did not start`);
}

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
}

function wrk(s, seconds) {
  const out = execFileSync('taskset', ['-c', values['load-cpu'], 'wrk', '-t1', `-c${values.serial ? 1 : 64}`, `-d${seconds}s`, '--latency', '-s', lua,
    `http://127.0.0.1:${s.port}${request.path}`]).toString();
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  const unit = (v, u) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[u]);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors) throw new Error(`${s.name}: ${errors[1]} non-2xx answers`);
  return { requests, p99: p99 ? unit(p99[1], p99[2]) : NaN };
}

try {
  await Promise.all(servers.map(ready));
  for (const s of servers) wrk(s, 1); // warm-up
  const rows = new Map(servers.map((s) => [s.name, { cpu: [], rps: [], p99: [] }]));
  const rounds = Number(values.rounds);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < servers.length; j++) {
      const s = servers[(j + r) % servers.length];
      const c0 = cpuTicks(s.child.pid);
      const { requests, p99 } = wrk(s, values.seconds);
      const c1 = cpuTicks(s.child.pid);
      const row = rows.get(s.name);
      row.cpu.push(((c1 - c0) / CLK) * 1e6 / requests);
      row.rps.push(requests / Number(values.seconds));
      row.p99.push(p99);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const min = (a) => Math.min(...a);
  const bare = rows.get('fastify-bare');
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`${values.endpoint}${values.serial ? ', serial' : ', 64 connections'}: ${rounds} rounds × ${values.seconds} s; load average ${load}`);
  console.log('| server | CPU µs/req min / median | ÷ bare (min / median) | req/s median | p99 ms median |');
  console.log('|---|---|---|---|---|');
  for (const [name, row] of rows) {
    console.log(`| ${name} | ${min(row.cpu).toFixed(1)} / ${median(row.cpu).toFixed(1)} | ${(min(row.cpu) / min(bare.cpu)).toFixed(2)} / ${(median(row.cpu) / median(bare.cpu)).toFixed(2)} | ${Math.round(median(row.rps))} | ${median(row.p99).toFixed(2)} |`);
  }
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
}
