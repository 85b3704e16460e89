/**
 * The built CLI as a user runs it: validate, check, and serve with SIGHUP reload and
 * SIGTERM drain (real child processes, real sockets).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { writeConfig } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { waitFor } from './helpers/metrics.js';
import { runCli, spawnSidecar } from './helpers/process.js';

const example = (p: string) => new URL(`../examples/${p}`, import.meta.url).pathname;
const CORE = readFileSync(example('quickstart.yaml'), 'utf8');

const cli = (...args: string[]) => runCli(args);

describe('ascend-sidecar validate', () => {
  it('accepts the bundled config', async () => {
    const r = await cli('validate', '--config', example('quickstart.yaml'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK \(4 policies, 3 routes, 2 agents; sha256 [0-9a-f]{12}\)/);
  });

  it('rejects a bad file naming every bad field with its line', async () => {
    const { path } = writeConfig('fail_mode: shut\ncache: {ttl_ms: -5}\n');
    const r = await cli('validate', '--config', path);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 1:12: fail_mode: must be one of: closed, open');
    expect(r.stderr).toContain('line 2:17: cache.ttl_ms: must be >= 0');
    const { path: p2 } = writeConfig('policies:\n  - {id: p, action: allow, conditions: {amount: {gt: 1}}}\n');
    expect((await cli('validate', '--config', p2)).stderr).toContain('line 2:49: policies[0].conditions.amount: unknown condition path "amount"');
  });

  it('names a missing file and missing flags', async () => {
    expect((await cli('validate', '--config', '/nonexistent.yaml')).stderr).toContain('file not found');
    const r = await cli('validate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--config FILE is required');
  });
});

describe('ascend-sidecar check', () => {
  it('explains an allow with the matched policy and risk breakdown', async () => {
    const r = await cli('check', '--config', example('quickstart.yaml'), '--request', example('requests/refund-small.json'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('decision:   allowed');
    expect(r.stdout).toContain('policy:     pol_refund_small');
    expect(r.stdout).toContain('action:     payments.refund on refund/r-1001 by billing-agent');
    expect(r.stdout).toMatch(/\+20\tenvironment: environment "production"/);
  });

  it('reads an Envoy CheckRequest in proto3 JSON and shows the canonical path', async () => {
    const r = await cli('check', '--config', example('quickstart.yaml'), '--request', example('requests/admin-traversal.envoy.json'), '--json');
    const report = JSON.parse(r.stdout) as Record<string, any>;
    expect(report.input_format).toBe('envoy_check_request');
    expect(report.request).toMatchObject({ path: '/admin/users', raw_target: '/v1/orders/../../admin/users' });
    expect(report.action).toMatchObject({ agent_id: 'crawler', action_type: 'admin.access' });
    expect(report.decision).toMatchObject({ decision: 'denied', policyId: 'pol_admin_deny' });
  });

  it('--expect fails when the decision differs (for policy tests in CI)', async () => {
    const r = await cli('check', '--config', example('quickstart.yaml'), '--request', example('requests/refund-large.json'), '--expect', 'allowed');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expected allowed, got pending');
  });
});

describe('ascend-sidecar serve', () => {
  it('logs the ports it picked, reloads on SIGHUP, drains and exits 0 on SIGTERM', async () => {
    const { path } = writeConfig(CORE);
    const s = await spawnSidecar(path, ['--no-watch']);
    const c = new AuthzClient(s.grpcPort);
    try {
      expect(s.grpcPort).toBeGreaterThan(0);
      expect(s.httpPort).toBeGreaterThan(0);
      expect(decisionOf(await c.check({ method: 'GET', path: '/admin/x' }))).toBe('denied');

      writeFileSync(path, CORE.replace('action: deny}', 'action: allow}'));
      s.proc.kill('SIGHUP');
      await s.waitForLine((l) => l.msg === 'config reloaded' && l.trigger === 'SIGHUP');
      expect(decisionOf(await c.check({ method: 'GET', path: '/admin/x' }))).toBe('allowed');

      writeFileSync(path, 'routes: [{match: {path: nope}, action_type: x}]');
      s.proc.kill('SIGHUP');
      const failed = await s.waitForLine((l) => l.msg === 'config reload failed; keeping the last good config');
      expect(JSON.stringify(failed.issues)).toContain('routes[0].match.path');
      expect(decisionOf(await c.check({ method: 'GET', path: '/admin/x' }))).toBe('allowed');

      await waitFor(async () => (await fetch(`http://127.0.0.1:${s.httpPort}/readyz`)).ok);
      expect(await s.stop('SIGTERM')).toBe(0);
      expect(s.lines.some((l) => l.msg === 'draining')).toBe(true);
      expect(s.lines.some((l) => l.kind === 'decision')).toBe(true);
    } finally {
      c.close();
      await s.stop('SIGKILL');
    }
  });

  it('refuses to start on an invalid config and says why', async () => {
    const { path } = writeConfig('server: {grpc_port: -1}');
    const r = await cli('serve', '--config', path);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('server.grpc_port: must be >= 0');
  });
});
