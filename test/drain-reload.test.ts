/**
 * Shutdown and reload under load: SIGTERM while checks are in flight (a real process),
 * and reloads that flip a decision while checks keep coming (in-process). Load loops are
 * bounded in count and time and target 127.0.0.1 only.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { startApp, writeConfig } from './helpers/app.js';
import { AuthzClient, decisionOf, metadata } from './helpers/grpc-client.js';
import { waitFor } from './helpers/metrics.js';
import { spawnSidecar } from './helpers/process.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const ADMIN_ALLOWED = CORE.replace('action: deny}', 'action: allow}').replace('id: pol_admin_deny', 'id: pol_admin_allow');

interface Outcome {
  ok: boolean;
  code?: number;
  startedBeforeSignal: boolean;
  endedAfterSignal: boolean;
}

describe('SIGTERM under load', () => {
  it('drains in-flight checks, reports not ready at once, flushes the decision log and exits 0', async () => {
    const { path } = writeConfig(CORE.replace('server: {grpc_port: 9191, http_port: 8181}', 'server: {grpc_port: 9191, http_port: 8181, drain_timeout_ms: 5000}'));
    const s = await spawnSidecar(path, ['--no-watch']);
    const clients = Array.from({ length: 4 }, () => new AuthzClient(s.grpcPort));
    const outcomes: Outcome[] = [];
    let signalled = false;
    let stop = false;
    const loop = async (c: AuthzClient, n: number) => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const startedBeforeSignal = !signalled;
        try {
          const r = await c.check({ method: 'GET', path: `/v1/orders/${n}-${i}`, headers: { 'x-agent-id': 'crawler' } });
          outcomes.push({ ok: decisionOf(r) === 'allowed', startedBeforeSignal, endedAfterSignal: signalled });
        } catch (e) {
          outcomes.push({ ok: false, code: (e as grpc.ServiceError).code, startedBeforeSignal, endedAfterSignal: signalled });
          // After the drain the server is gone: stop this worker.
          if ((e as grpc.ServiceError).code === grpc.status.UNAVAILABLE) return;
        }
      }
    };
    const workers = clients.flatMap((c, ci) => Array.from({ length: 8 }, (_, k) => loop(c, ci * 8 + k)));
    await waitFor(() => outcomes.length >= 300, 20_000, 5);

    signalled = true;
    s.proc.kill('SIGTERM');
    const ready = await fetch(`http://127.0.0.1:${s.httpPort}/readyz`).then((r) => r.status, () => 'refused');
    expect([503, 'refused']).toContain(ready);

    const code = await s.exited;
    stop = true;
    await Promise.all(workers);
    clients.forEach((c) => c.close());

    expect(code).toBe(0);
    // Every check the server took was answered with a decision; the only failures are calls
    // that found the server already gone (UNAVAILABLE) — never INTERNAL, CANCELLED or a reset.
    const failures = outcomes.filter((o) => !o.ok);
    expect(failures.every((o) => o.code === grpc.status.UNAVAILABLE), JSON.stringify(failures.slice(0, 3))).toBe(true);
    // Checks in flight when the signal went out were answered, not dropped.
    expect(outcomes.filter((o) => o.ok && o.startedBeforeSignal && o.endedAfterSignal).length).toBeGreaterThan(0);
    // Nothing answered is missing from the decision log (flushed before exit).
    const answered = outcomes.filter((o) => o.ok).length;
    const logged = s.lines.filter((l) => l.kind === 'decision').length;
    expect(logged).toBeGreaterThanOrEqual(answered);
    expect(s.lines.some((l) => l.msg === 'stopped')).toBe(true);
  }, 60_000);
});

describe('reload under load', () => {
  it('switches decisions atomically with no failed checks', async () => {
    const t = await startApp(CORE);
    const c = new AuthzClient(t.grpcPort);
    const seen: { decision: string | undefined; policy: unknown }[] = [];
    const errors: unknown[] = [];
    let stop = false;
    const loop = async () => {
      for (let i = 0; i < 5000 && !stop; i++) {
        try {
          const r = await c.check({ method: 'GET', path: '/admin/x' });
          seen.push({ decision: decisionOf(r), policy: metadata(r, 'policy_id') });
        } catch (e) {
          errors.push(e);
        }
      }
    };
    const workers = Array.from({ length: 16 }, loop);
    try {
      for (let round = 0; round < 10; round++) {
        const before = seen.length;
        writeFileSync(t.configPath, round % 2 === 0 ? ADMIN_ALLOWED : CORE);
        expect((await t.app.reload('test')).result).toBe('success');
        await waitFor(() => seen.length >= before + 50, 10_000, 5);
      }
      stop = true;
      await Promise.all(workers);
      expect(errors).toEqual([]);
      // Each answer is wholly one config's: the policy that decided agrees with the decision.
      for (const s of seen) {
        expect([
          ['denied', 'pol_admin_deny'],
          ['allowed', 'pol_admin_allow'],
        ]).toContainEqual([s.decision, s.policy]);
      }
      expect(new Set(seen.map((s) => s.decision))).toEqual(new Set(['allowed', 'denied']));
      // The last config (round 9 → CORE) is the one in force.
      expect(decisionOf(await c.check({ method: 'GET', path: '/admin/x' }))).toBe('denied');
    } finally {
      stop = true;
      c.close();
      await t.close();
    }
  }, 60_000);
});
