// The machine, the markdown table, and the generated section of bench/README.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, protoSource } from './protos.mjs';
import { RATIOS } from './engine.mjs';
import { LOAD_CPU, SERVER_CPU } from './proc.mjs';

const version = (pkg) => { try { return JSON.parse(readFileSync(path.join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')).version; } catch { return 'n/a'; } };
const sh = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim(); } catch { return 'n/a'; } };

export function machineInfo() {
  const cpuModel = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? os.cpus()[0]?.model;
  return {
    nproc: Number(sh('nproc', [])) || os.availableParallelism(),
    cpuModel,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    grpcJs: version('@grpc/grpc-js'),
    protoLoader: version('@grpc/proto-loader'),
    fastify: version('fastify'),
    h2load: sh('h2load', ['--version']).split('\n')[0],
    wrk: spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout?.split('\n')[0].split(' [')[0] || 'n/a', // exits 1 on -v
    protos: protoSource().name,
    pinning: `server taskset -c ${SERVER_CPU}, load generator taskset -c ${LOAD_CPU}`,
    commit: sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
  };
}

export const machineLine = (m) => `${m.nproc} vCPU ${m.cpuModel}, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ` +
  `grpc-js ${m.grpcJs}, proto-loader ${m.protoLoader}, fastify ${m.fastify}, ${m.h2load}, ${m.wrk}; protos: ${m.protos}; ${m.pinning}`;

const n0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const ms = (us) => (Number.isFinite(us) ? (us / 1000).toFixed(us < 10000 ? 2 : 1) : '–');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const pct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)} %` : '–');
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–');

/** One markdown table for a list of scenario results. */
export function markdownTable(results) {
  const rows = [
    '| scenario | baseline (A) req/s | candidate (B) req/s | median ratio B÷A (min–max) | p50 / p99 ms, A → B | CPU µs/req, A / B | RSS MiB, A / B |',
    '|---|---:|---:|---|---|---|---|',
  ];
  for (const r of results) {
    const name = `\`${r.name}\` ${r.title}`;
    if (r.skipped) { rows.push(`| ${name} | – | – | skipped: ${r.skipped.replaceAll('|', '\\|')} | | | |`); continue; }
    const { A, B } = r;
    const err = A.errors || B.errors ? ` ⚠ errors A ${A.errors} B ${B.errors}` : '';
    const hit = Number.isFinite(B.hitRatio) ? `, hit ${(B.hitRatio * 100).toFixed(1)} %` : '';
    // A side whose req/s its server's capacity did not set (engine.mjs unsaturated).
    const bound = [['A', A], ['B', B]].filter(([, x]) => x.unsaturatedPairs > 0);
    const capacity = bound.length === 0 ? '' : `; ⚠ unsaturated ${bound.map(([k, x]) => `${k} (${x.unsaturatedPairs} of ${r.pairsUsed} pairs; ` +
      `server core ${pct(x.serverCoreUtil)}, load core ${pct(x.loadCoreUtil)})`).join(', ')}: **capacity B÷A ${r.capacityRatio.toFixed(2)}** ` +
      `(${r.capacityMin.toFixed(2)}–${r.capacityMax.toFixed(2)}; req/s per server CPU second)`;
    const dropped = r.pairsDisturbed ? (r.noisy ? ', ⚠ noisy: disturbed pairs kept' : `, ${r.pairsDisturbed} disturbed dropped`) : '';
    rows.push(`| ${name} | ${n0(A.rps)} | ${n0(B.rps)} | **${r.medianRatio.toFixed(2)}** ${RATIOS[r.ratio].label} ` +
      `(${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)}, ${r.pairsUsed} pairs${dropped}); CPU/req ${r.medianCpuRatio.toFixed(2)}${hit}${capacity}${err} | ` +
      `${ms(A.p50Us)} / ${ms(A.p99Us)} → ${ms(B.p50Us)} / ${ms(B.p99Us)} | ${f0(A.cpuUsPerReq)} / ${f0(B.cpuUsPerReq)} | ${f1(A.rssMiB)} / ${f1(B.rssMiB)} |`);
  }
  return rows.join('\n');
}

/** Replace the text between <!-- bench:NAME:begin --> and <!-- bench:NAME:end --> in bench/README.md. */
export function writeReadmeSection(name, body) {
  const file = path.join(REPO, 'bench/README.md');
  const text = readFileSync(file, 'utf8');
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`bench/README.md has no ${begin} … ${end} section`);
  writeFileSync(file, `${text.slice(0, i + begin.length)}\n${body}\n${text.slice(j)}`);
}
