#!/usr/bin/env node
// A well-behaved client's latency while 1,000 connections flood the h2 transport with PINGs
// and SETTINGS and never read their answers (issue 20: p99 ≤ 10 ms). A: the serial cached allow
// (h2load 1×1) on an idle sidecar; B: the same run with the flood beside it, in alternating
// rounds on one sidecar. The flood runs in a child process of its own, so it neither shares
// the measuring client's event loop nor the sidecar's; the sidecar is pinned to the server core
// (BENCH_SERVER_CPU, default 1), the flood and h2load to the load core (BENCH_LOAD_CPU, 0).
// Prints p50/p99 (ms) per round, the sidecar's CPU under the flood (cores), its RSS, how many
// flood connections it closed, and the load average (the machine's other work shows in p99).
//
//   node bench/flood.mjs [--rounds 3] [--duration 5] [--flooders 1000] [--server 'grpc_max_control_frames_per_second: 100']
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { encodeFrame, refund } from './lib/frames.mjs';
import { runH2load } from './lib/h2load.mjs';
import { cpuSeconds, LOAD_CPU, peakRssMiB, rssMiB, SERVER_CPU } from './lib/proc.mjs';
import { REPO } from './lib/protos.mjs';

const SELF = fileURLToPath(import.meta.url);
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const frame = (type, flags, stream, payload = Buffer.alloc(0)) => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
};

/** Child: `count` connections sending PINGs and SETTINGS, never reading, reconnecting when closed. */
function flood(port, count) {
  const burst = Buffer.concat([...Array.from({ length: 256 }, () => frame(6, 0, 0, Buffer.alloc(8))), ...Array.from({ length: 32 }, () => frame(4, 0, 0))]);
  let closed = 0;
  const open = () => {
    const s = connect(port, '127.0.0.1');
    s.pause();
    s.on('error', () => {});
    s.write(Buffer.concat([PREFACE, frame(4, 0, 0)])); // ahead of any burst, even before the connection is up
    const pump = setInterval(() => { if (s.writableLength < 32 * 1024) s.write(burst); }, 100);
    s.once('close', () => { clearInterval(pump); closed++; setTimeout(open, 50); });
  };
  for (let i = 0; i < count; i++) open();
  process.on('message', () => process.send({ closed }));
}

if (process.argv[2] === '--flood-child') {
  flood(Number(process.argv[3]), Number(process.argv[4]));
} else {
  const { values } = parseArgs({ options: {
    rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5' }, flooders: { type: 'string', default: '1000' },
    server: { type: 'string', default: '', description: 'more server settings, e.g. "grpc_max_control_frames_per_second: 100"' },
  } });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flood-'));
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, readFileSync(path.join(REPO, 'bench/configs/core.yaml'), 'utf8')
    .replace('server: {grpc_port: 9191, http_port: 8181}', `server: {grpc_port: 9191, http_port: 8181, grpc_transport: h2, max_connections_per_peer: 4000${values.server ? `, ${values.server}` : ''}}`));
  const frameFile = path.join(dir, 'allow.bin');
  writeFileSync(frameFile, encodeFrame(refund()));
  const sidecar = spawn('taskset', ['-c', SERVER_CPU, process.execPath, path.join(REPO, 'dist/cli.js'), 'serve', '--config', config, '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    sidecar.stdout.on('data', (d) => {
      buf += d;
      const m = /"grpc_port":(\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    sidecar.once('exit', (code) => reject(new Error(`sidecar exited ${code}`)));
  });
  const ms = (us) => (us / 1000).toFixed(2);
  const rows = [];
  try {
    await runH2load({ port, frameFile, mode: 'serial', durationS: 2 }); // warm-up
    for (let r = 0; r < Number(values.rounds); r++) {
      const alone = await runH2load({ port, frameFile, mode: 'serial', durationS: Number(values.duration) });
      const child = spawn('taskset', ['-c', LOAD_CPU, process.execPath, SELF, '--flood-child', String(port), values.flooders], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
      await new Promise((res) => setTimeout(res, 2000)); // the flood reaches its pace
      const cpu0 = cpuSeconds(sidecar.pid);
      const t0 = Date.now();
      const flooded = await runH2load({ port, frameFile, mode: 'serial', durationS: Number(values.duration) });
      const cores = (cpuSeconds(sidecar.pid) - cpu0) / ((Date.now() - t0) / 1000);
      const closed = await new Promise((res) => { child.once('message', (m) => res(m.closed)); child.send('stats'); });
      const rss = rssMiB(sidecar.pid);
      child.kill('SIGKILL');
      await new Promise((res) => setTimeout(res, 2000)); // the sidecar lets the flood go
      rows.push({ round: r + 1, alone, flooded, closed, rss });
      const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
      console.log(`round ${r + 1}: alone p50 ${ms(alone.latencyUs.p50)} p99 ${ms(alone.latencyUs.p99)} ms (${alone.requests} req, ${alone.errors} errors); ` +
        `flooded p50 ${ms(flooded.latencyUs.p50)} p99 ${ms(flooded.latencyUs.p99)} ms (${flooded.requests} req, ${flooded.errors} errors); ` +
        `sidecar CPU under the flood ${cores.toFixed(2)} cores; flood connections closed ${closed}; sidecar RSS ${rss.toFixed(0)} MiB; load average ${load}`);
    }
    console.log(`peak RSS ${peakRssMiB(sidecar.pid).toFixed(0)} MiB; p99 ratio flooded/alone per round: ${rows.map((x) => (x.flooded.latencyUs.p99 / x.alone.latencyUs.p99).toFixed(2)).join(', ')}`);
  } finally {
    sidecar.kill('SIGKILL');
  }
}
