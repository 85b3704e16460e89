/**
 * The h2 transport under clients that send PINGs and SETTINGS and never read what they are
 * answered: a real sidecar process, the flood from this process, and one well-behaved grpc-js
 * client beside it that must keep getting its answers. Two floods, one per bound:
 *
 * - 1,000 connections sending bursts of 288 control frames, reconnecting when closed, under
 *   the default caps: every one is caught by the PING/SETTINGS cap (GOAWAY ENHANCE_YOUR_CALM,
 *   counted as `control_flood`) and RSS stays within 256 MiB.
 * - With that cap lifted, 16 connections sending PINGs as fast as their sockets take them:
 *   only the output budgets stand in their way. Every one is closed for not reading
 *   (`output_closed`), and the output held for them never passes `grpc_output_budget_bytes`
 *   by more than one write (`ascend_grpc_unsent_output_peak_bytes`).
 *
 * Without the caps or the budgets, these fail: no connection is counted closed, and the held
 * output grows past the budget. Correctness only: latency under the flood is measured in
 * bench/ (bench/README.md, "flood"), never here.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { writeConfig } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { metricValue, scrape } from './helpers/metrics.js';
import { spawnSidecar, type Sidecar } from './helpers/process.js';
import { frameBytes, PREFACE, settings, T } from './helpers/raw-h2.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const MAX_RSS = 256 * 1024 * 1024;
const MIB = 1024 * 1024;

/** 256 PINGs and 32 SETTINGS: one burst of the light flooders. */
const BURST = Buffer.concat([
  ...Array.from({ length: 256 }, (_, i) => frameBytes(T.PING, 0, 0, Buffer.alloc(8, i))),
  ...Array.from({ length: 32 }, () => settings([[4, 65_535]])),
]);
/** 64 KiB of PINGs: what a heavy flooder writes each time its socket takes more. */
const PINGS = Buffer.concat(Array.from({ length: 3855 }, (_, i) => frameBytes(T.PING, 0, 0, Buffer.alloc(8, i))));

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface FloodStats {
  connects: number;
  closed: number;
}

/**
 * A client that sends the preface, then writes `block` again and again (`heavy`: whenever its
 * socket takes more; otherwise every 100 ms, while under 32 KiB are queued), and never reads;
 * reconnects 50 ms after the server closes it.
 */
function flooder(port: number, block: Buffer, heavy: boolean, stop: () => boolean, stats: FloodStats): void {
  const open = (): void => {
    if (stop()) return;
    stats.connects++;
    const s: Socket = connect(port, '127.0.0.1');
    s.pause(); // never read: answers pile up on the server's side
    s.on('error', () => {});
    s.write(Buffer.concat([PREFACE, settings()])); // queued ahead of any flood, even before the connection is up
    const pump = (): void => {
      if (stop()) s.destroy();
      else if (heavy) {
        while (!s.destroyed && s.write(block));
        if (!s.destroyed) s.once('drain', pump);
      } else if (s.writableLength < 32 * 1024) s.write(block);
    };
    const timer = heavy ? undefined : setInterval(pump, 100);
    if (heavy) s.once('connect', pump);
    s.once('close', () => {
      clearInterval(timer);
      stats.closed++;
      setTimeout(open, 50);
    });
  };
  open();
}

const events = (text: string, event: string): number => metricValue(text, `ascend_grpc_connection_events_total{event="${event}"}`);

/** Runs `flood` beside a well-behaved client until `done` says so; returns what the good client got and the sidecar's RSS peak. */
async function underFlood(s: Sidecar, flood: (stop: () => boolean) => void, done: () => Promise<boolean>): Promise<{ answers: string[]; failures: string[]; maxRss: number }> {
  const pid = s.proc.pid as number;
  const good = new AuthzClient(s.grpcPort, { ownConnection: true });
  let stopped = false;
  let maxRss = rssOf(pid);
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssOf(pid))), 100);
  const answers: string[] = [];
  const failures: string[] = [];
  try {
    expect(decisionOf(await good.check({ method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'billing-agent' } }))).toBe('allowed');
    flood(() => stopped);
    while (!(await done())) {
      try {
        const r = await good.check({ method: 'GET', path: `/v1/orders/${answers.length}`, headers: { 'x-agent-id': 'billing-agent' } }, { deadline: Date.now() + 5000 });
        answers.push(decisionOf(r) ?? 'none');
      } catch (e) {
        failures.push(String(e));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    stopped = true;
    clearInterval(sampler);
    good.close();
  }
  return { answers, failures, maxRss: Math.max(maxRss, rssOf(pid)) };
}

async function sidecar(extra: string): Promise<Sidecar> {
  const { path } = writeConfig(CORE.replace('server: {grpc_port: 9191, http_port: 8181}',
    `server: {grpc_port: 9191, http_port: 8181, grpc_transport: h2, max_connections_per_peer: 2000${extra}}`));
  return spawnSidecar(path, ['--no-watch']);
}

describe('h2 transport under 1,000 connections flooding PINGs and SETTINGS, never reading (the default caps)', () => {
  it('catches every flood connection with the control-frame cap, keeps RSS within 256 MiB and answers a well-behaved client throughout', async () => {
    const FLOODERS = 1000;
    const SECONDS = 6;
    const s = await sidecar('');
    const stats = { connects: 0, closed: 0 };
    try {
      const url = `http://127.0.0.1:${s.httpPort}/metrics`;
      // At least SECONDS, and until every flood connection is caught (or 30 s: a loaded machine is slow to start 1,000).
      const from = Date.now();
      const { answers, failures, maxRss } = await underFlood(s, (stop) => {
        for (let i = 0; i < FLOODERS; i++) flooder(s.grpcPort, BURST, false, stop, stats);
      }, async () => Date.now() - from > SECONDS * 1000 && (Date.now() - from > 30_000 || events(await scrape(url), 'control_flood') >= FLOODERS));
      const metrics = await scrape(url);
      console.log(`flood: ${stats.connects} connections, ${events(metrics, 'control_flood')} caught by the control-frame cap, RSS peak ${(maxRss / MIB).toFixed(0)} MiB, ${answers.length} good answers`);
      expect(failures).toEqual([]);
      // Answered throughout, not just once: this process runs the flood too, so few but steady.
      expect(answers.length).toBeGreaterThanOrEqual(SECONDS / 2);
      expect(new Set(answers)).toEqual(new Set(['allowed']));
      expect(stats.connects).toBeGreaterThanOrEqual(FLOODERS);
      // Every flood connection is caught (GOAWAY ENHANCE_YOUR_CALM) in its first burst or so.
      expect(events(metrics, 'control_flood')).toBeGreaterThanOrEqual(FLOODERS);
      expect(maxRss, `sidecar RSS peaked at ${(maxRss / MIB).toFixed(0)} MiB`).toBeLessThanOrEqual(MAX_RSS);
    } finally {
      await s.stop('SIGKILL');
    }
  }, 90_000);
});

describe('h2 transport under connections flooding PINGs as fast as they can, never reading, the rate cap lifted', () => {
  it('closes every one for not reading, holds at most the output budget for them, and answers a well-behaved client throughout', async () => {
    const FLOODERS = 16;
    const BUDGET = 16 * MIB;
    // 16 connections paused at 1 MiB each would hold as much as the budget: it must be
    // enforced, not only the per-connection limit. A paused connection left alone goes after 1 s.
    const s = await sidecar(`, grpc_max_control_frames_per_second: 100000000, grpc_output_budget_bytes: ${BUDGET}, grpc_output_stall_timeout_ms: 1000`);
    const stats = { connects: 0, closed: 0 };
    const url = `http://127.0.0.1:${s.httpPort}/metrics`;
    try {
      const until = Date.now() + 60_000;
      const { answers, failures, maxRss } = await underFlood(s, (stop) => {
        for (let i = 0; i < FLOODERS; i++) flooder(s.grpcPort, PINGS, true, stop, stats);
      }, async () => events(await scrape(url), 'output_closed') >= FLOODERS || Date.now() > until);
      const metrics = await scrape(url);
      const peak = metricValue(metrics, 'ascend_grpc_unsent_output_peak_bytes');
      console.log(`flood: ${stats.connects} connections, ${events(metrics, 'output_closed')} closed for not reading, unsent output peak ${(peak / MIB).toFixed(1)} MiB, RSS peak ${(maxRss / MIB).toFixed(0)} MiB, ${answers.length} good answers`);
      expect(failures).toEqual([]);
      expect(answers.length).toBeGreaterThanOrEqual(3);
      expect(new Set(answers)).toEqual(new Set(['allowed']));
      expect(events(metrics, 'output_closed'), 'connections closed with GOAWAY ENHANCE_YOUR_CALM for not reading').toBeGreaterThanOrEqual(FLOODERS);
      expect(events(metrics, 'control_flood')).toBe(0);
      // Past the budget by at most one write: the answers to one 64 KiB read of PINGs.
      expect(peak).toBeGreaterThan(0);
      expect(peak, 'unsent output held at once').toBeLessThanOrEqual(BUDGET + 64 * 1024 + 4096);
      expect(maxRss, `sidecar RSS peaked at ${(maxRss / MIB).toFixed(0)} MiB`).toBeLessThanOrEqual(MAX_RSS);
    } finally {
      await s.stop('SIGKILL');
    }
  }, 90_000);
});
