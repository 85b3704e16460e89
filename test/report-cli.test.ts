/**
 * `ascend-sidecar report` as a user runs it: the built CLI in its own process, reading the SQLite
 * store a real sidecar wrote (real gRPC checks, an approval voted over the API, the kill switch
 * thrown and lifted, a policy in its own monitor mode), in each format, to stdout and to --out;
 * bad flags are usage errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startApp } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { CLI } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
// A policy watched before it is enforced: it would deny order reads, pol_orders_read allows them.
const WATCHED = `policies:
  - {id: pol_orders_watch, name: Order reads watched, priority: 20, mode: monitor,
     conditions: {action_type: orders.read}, action: deny}`;
const WITH_MONITOR = CORE.replace('policies:\n', `${WATCHED}\n`);
const dir = join(tempDir('ascend-report-'), 'app');
let configPath = '';
const report = (...args: string[]) => spawnSync(process.execPath, [CLI, 'report', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('ascend-sidecar report', () => {
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    expect(WITH_MONITOR).toContain('pol_orders_watch');
    const t = await startApp(storeConfig(dir, WITH_MONITOR), { dir });
    configPath = t.configPath;
    const authz = new AuthzClient(t.grpcPort);
    try {
      expect(decisionOf(await authz.check({ method: 'POST', path: '/v1/refunds/r-1?amount=10', headers: { 'x-agent-id': 'billing-agent' } }))).toBe('allowed');
      expect(decisionOf(await authz.check({ method: 'GET', path: '/admin/x', headers: { 'x-agent-id': 'crawler' } }))).toBe('denied');
      expect(decisionOf(await authz.check({ method: 'GET', path: '/v1/orders/o-1', headers: { 'x-agent-id': 'crawler' } }))).toBe('allowed');
      const pending = await authz.check({ method: 'POST', path: '/v1/refunds/r-2?amount=5000', headers: { 'x-agent-id': 'billing-agent' } });
      expect((await call(t.url(''), 'POST', `/api/approvals/${header(pending, 'x-ascend-approval-id')}/approve`, KEYS.finance, {})).status).toBe(200);
      expect((await call(t.url(''), 'POST', '/api/registry/agents/crawler/kill-switch', KEYS.admin, { reason: '<b>scraping</b>' })).status).toBe(200);
      expect((await call(t.url(''), 'DELETE', '/api/registry/agents/crawler/kill-switch', KEYS.admin, {})).status).toBe(200);
    } finally {
      authz.close();
      await t.close(); // flushes the audit buffer
    }
  }, 60_000);

  it('prints JSON with since, until, posture, agents, policies, approvals and risk_trend', () => {
    const r = report('--config', configPath, '--since', '1d', '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const b = JSON.parse(r.stdout);
    expect(Object.keys(b)).toEqual(['since', 'until', 'posture', 'agents', 'policies', 'monitor', 'approvals', 'risk_trend', 'kill_switch']);
    expect(Date.parse(b.until) - Date.parse(b.since)).toBe(86_400_000);
    expect(b.posture).toMatchObject({ decisions: 4, allowed: 2, denied: 1, pending: 1, monitor_would_deny: 1, kill_switch_events: 2 });
    expect(b.agents).toContainEqual(expect.objectContaining({ agent_id: 'billing-agent', total: 2, allowed: 1, pending: 1, approvals: { approved: 1, denied: 0 } }));
    expect(b.agents).toContainEqual(expect.objectContaining({ agent_id: 'crawler', total: 2, allowed: 1, denied: 1 }));
    expect(b.policies.map((p: { policy_id: string }) => p.policy_id).sort()).toEqual(['pol_admin_deny', 'pol_orders_read', 'pol_orders_watch', 'pol_refund_large', 'pol_refund_small']);
    expect(b.policies).toContainEqual(expect.objectContaining({ policy_id: 'pol_orders_watch', name: 'Order reads watched', total: 0, monitor_would_deny: 1 }));
    expect(b.monitor).toEqual([{ policy_id: 'pol_orders_watch', name: 'Order reads watched', mode: 'policy', would_deny: 1, would_hold: 0 }]);
    expect(b.approvals).toMatchObject({ requested: 1, approved: 1, time_to_decision_seconds: { count: 1 } });
    expect(b.approvals.time_to_decision_seconds.p50).toBeGreaterThanOrEqual(0);
    expect(b.risk_trend.length).toBeGreaterThanOrEqual(1);
    expect(b.kill_switch.map((k: { event: string }) => k.event)).toEqual(['agent.blocked', 'agent.unblocked']);
  }, 60_000);

  it('writes one self-contained HTML file with --out, and Markdown to stdout', () => {
    const out = join(dir, 'brief.html');
    const r = report('--config', configPath, '--format', 'html', '--out', out);
    expect([r.status, r.stdout]).toEqual([0, '']);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<svg ');
    expect(html).not.toMatch(/<script|<link|<img|\s(src|href)=["']/i);
    expect(html).toContain('&lt;b&gt;scraping&lt;/b&gt;');
    const md = report('--config', configPath, '--format', 'md');
    expect(md.status).toBe(0);
    expect(md.stdout).toMatch(/^# Executive brief: /);
    expect(md.stdout).toContain('| billing-agent | 2 |');
    expect(md.stdout).toContain("| pol_orders_watch | Order reads watched | the policy's own | 1 | 0 |");
  }, 60_000);

  it('answers bad flags with the usage (exit 2) and a config without a store with exit 1', () => {
    const bad = report('--config', configPath, '--format', 'pdf');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--format must be one of json, md, html');
    expect(report('--config', configPath, '--since', 'last week').status).toBe(2);
    expect(report().status).toBe(2);
    const noStore = join(dir, 'nostore.yaml');
    writeFileSync(noStore, CORE);
    const r = report('--config', noStore);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('has no store: section');
  }, 90_000);
});
