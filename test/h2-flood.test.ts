/**
 * The h2 transport under a flood of clients that send PINGs and SETTINGS and never read what
 * they are answered: a real sidecar process, 1,000 connections from this process, and one
 * well-behaved grpc-js client beside them. The sidecar's RSS must stay within 256 MiB and the
 * good client must keep getting its answers. Correctness only: latency under the flood is
 * measured in bench/ (bench/README.md, "flood"), never here.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { writeConfig } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { spawnSidecar } from './helpers/process.js';
import { frameBytes, PREFACE, settings, T } from './helpers/raw-h2.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const FLOODERS = 1000;
const SECONDS = 6;
const MAX_RSS = 256 * 1024 * 1024;

/** 256 PINGs and 32 SETTINGS, written again and again. */
const BURST = Buffer.concat([
  ...Array.from({ length: 256 }, (_, i) => frameBytes(T.PING, 0, 0, Buffer.alloc(8, i))),
  ...Array.from({ length: 32 }, () => settings([[4, 65_535]])),
]);

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** A client that sends the preface, then PINGs and SETTINGS as fast as its socket takes them, and never reads; reconnects when closed. */
function flooder(port: number, stop: () => boolean, stats: { connects: number; closed: number }): void {
  const open = (): void => {
    if (stop()) return;
    stats.connects++;
    const s: Socket = connect(port, '127.0.0.1');
    s.pause(); // never read: answers pile up on the server's side
    s.on('error', () => {});
    s.once('connect', () => s.write(Buffer.concat([PREFACE, settings()])));
    const pump = setInterval(() => {
      if (stop()) {
        clearInterval(pump);
        s.destroy();
      } else if (s.writableLength < 32 * 1024) s.write(BURST);
    }, 100);
    s.once('close', () => {
      clearInterval(pump);
      stats.closed++;
      setTimeout(open, 50);
    });
  };
  open();
}

describe.each([
  ['with the PING and SETTINGS rate cap (the default)', ''],
  ['with the rate cap out of the way: only the output budgets bound it', ', grpc_max_control_frames_per_second: 100000000'],
])('h2 transport under 1,000 connections flooding PINGs and SETTINGS, never reading, %s', (_name, extra) => {
  it('keeps RSS within 256 MiB and answers a well-behaved client throughout', async () => {
    const { path } = writeConfig(CORE.replace('server: {grpc_port: 9191, http_port: 8181}',
      `server: {grpc_port: 9191, http_port: 8181, grpc_transport: h2, max_connections_per_peer: 2000${extra}}`));
    const s = await spawnSidecar(path, ['--no-watch']);
    const pid = s.proc.pid as number;
    const good = new AuthzClient(s.grpcPort, { ownConnection: true });
    let done = false;
    const stats = { connects: 0, closed: 0 };
    try {
      expect(decisionOf(await good.check({ method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'billing-agent' } }))).toBe('allowed');
      let maxRss = rssOf(pid);
      const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssOf(pid))), 100);
      for (let i = 0; i < FLOODERS; i++) flooder(s.grpcPort, () => done, stats);
      const answers: string[] = [];
      const failures: string[] = [];
      const until = Date.now() + SECONDS * 1000;
      while (Date.now() < until) {
        try {
          const r = await good.check({ method: 'GET', path: `/v1/orders/${answers.length}`, headers: { 'x-agent-id': 'billing-agent' } }, { deadline: Date.now() + 5000 });
          answers.push(decisionOf(r) ?? 'none');
        } catch (e) {
          failures.push(String(e));
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      done = true;
      clearInterval(sampler);
      maxRss = Math.max(maxRss, rssOf(pid));
      console.log(`flood: ${stats.connects} connections (${stats.closed} closed by the server), RSS peak ${(maxRss / 1048576).toFixed(0)} MiB, ${answers.length} good answers`);
      expect(failures).toEqual([]);
      // Answered throughout, not just once: this process runs the flood too, so few but steady.
      expect(answers.length).toBeGreaterThanOrEqual(SECONDS / 2);
      expect(new Set(answers)).toEqual(new Set(['allowed']));
      expect(stats.connects).toBeGreaterThanOrEqual(FLOODERS);
      expect(maxRss, `sidecar RSS peaked at ${(maxRss / 1048576).toFixed(0)} MiB`).toBeLessThanOrEqual(MAX_RSS);
    } finally {
      done = true;
      good.close();
      await s.stop('SIGKILL');
    }
  }, 90_000);
});
