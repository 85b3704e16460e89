/**
 * `serve --workers 2`: both workers answer on the shared ports, /metrics on any worker adds
 * up every worker's checks, SIGHUP reaches every worker, SIGTERM stops them all with exit 0.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { writeConfig } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { metricValue, scrape, waitFor } from './helpers/metrics.js';
import { spawnSidecar } from './helpers/process.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');

describe('--workers', () => {
  it('runs N workers behind the same ports with cluster-wide metrics', async () => {
    const { path } = writeConfig(CORE);
    const s = await spawnSidecar(path, ['--workers', '2', '--no-watch'], {}, { readyTimeoutMs: 30_000 });
    try {
      await waitFor(() => s.lines.filter((l) => l.msg === 'worker listening').length === 2);
      const pids = new Set(s.lines.filter((l) => l.msg === 'worker listening').map((l) => l.pid));
      expect(pids.size).toBe(2);

      // Separate connections are spread over the workers; count decisions by pid in the log.
      const clients = Array.from({ length: 8 }, () => new AuthzClient(s.grpcPort, { ownConnection: true }));
      for (const c of clients) for (let i = 0; i < 5; i++) expect(decisionOf(await c.check({ method: 'GET', path: `/v1/orders/${i}` }))).toBe('allowed');
      clients.forEach((c) => c.close());
      await waitFor(() => s.lines.filter((l) => l.kind === 'decision').length >= 40);
      const byPid = new Set(s.lines.filter((l) => l.kind === 'decision').map((l) => l.pid));
      expect(byPid.size).toBe(2);

      const text = await scrape(`http://127.0.0.1:${s.httpPort}/metrics`);
      expect(metricValue(text, 'ascend_authz_decisions_total{adapter="envoy",decision="allowed"}')).toBe(40);
      expect(metricValue(text, 'ascend_policies')).toBe(4);

      writeFileSync(path, CORE.replace('action: deny}', 'action: allow}'));
      s.proc.kill('SIGHUP');
      await waitFor(() => s.lines.filter((l) => l.msg === 'config reloaded').length === 2);
    } finally {
      expect(await s.stop('SIGTERM')).toBe(0);
    }
    expect(s.lines.filter((l) => l.msg === 'stopped').length).toBe(3);
  }, 60_000);
});
