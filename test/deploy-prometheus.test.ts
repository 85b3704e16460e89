/**
 * deploy/prometheus and deploy/grafana, statically: promtool check rules / test rules / check
 * config pass; the PrometheusRule is the rule files verbatim; alerts carry what on-call needs;
 * the dashboard is well formed, uses the ${DS_PROMETHEUS} datasource variable everywhere, every
 * expression in it is valid PromQL (promtool parses it), every recording rule it reads exists,
 * and it covers every metric the sidecar promises; deploy/README.md has a runbook row for every alert
 * and names every dashboard row. Whether those metric names exist in a real
 * scrape is test/deploy-metrics.test.ts.
 *
 * promtool comes from the Debian package `prometheus` (scripts/install-test-deps.sh); the
 * tests that run it skip with the reason where it is missing (and fail in CI).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { deployPath, promtool, yamlDoc } from './helpers/deploy.js';
import { metricNames, substituteGrafanaVars } from './helpers/promql.js';
import { describeWith, itWith } from './helpers/tools.js';
import { RULE_FILES, allPanels, dashboard, dashboardExprs, ruleGroups, rules } from './helpers/rules.js';

const readme = readFileSync(deployPath('README.md'), 'utf8');

const tmp = mkdtempSync(join(tmpdir(), 'ascend-deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ok(r: { status: number | null; stdout: string; stderr: string }): void {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
}

describeWith('promtool', 'promtool', () => {
  it('check rules passes for the recording and alerting rules', () => {
    const r = promtool(['check', 'rules', ...RULE_FILES]);
    ok(r);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('test rules passes for every unit-test file in deploy/prometheus/tests', () => {
    const files = readdirSync(deployPath('prometheus', 'tests')).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    const r = promtool(['test', 'rules', ...files], { cwd: deployPath('prometheus', 'tests') });
    ok(r);
    expect(r.stdout).toMatch(/SUCCESS/);
  });

  it('check config passes for the standalone prometheus.yml (and the rule files it loads)', () => {
    ok(promtool(['check', 'config', deployPath('prometheus', 'prometheus.yml')]));
  });
});

describe('rules', () => {
  it('the unit tests exercise at least the fail-open, reload-failure, down, latency and resend alerts', () => {
    const tested = new Set<string>();
    for (const f of readdirSync(deployPath('prometheus', 'tests'))) {
      const doc = yamlDoc<{ tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] }>(deployPath('prometheus', 'tests', f));
      for (const t of doc.tests) for (const a of t.alert_rule_test ?? []) if (a.exp_alerts.length > 0) tested.add(a.alertname);
    }
    for (const a of ['AscendFailOpen', 'AscendPolicyReloadFailed', 'AscendSidecarDown', 'AscendAuthzLatencyHigh', 'AscendControlPlaneResends']) expect(tested).toContain(a);
    const alerts = rules().flatMap((r) => (r.alert ? [r.alert] : []));
    for (const a of tested) expect(alerts).toContain(a);
  });

  it('alerts are unique, have a severity, a summary and a description', () => {
    const alerts = rules().filter((r) => r.alert);
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
    for (const a of alerts) {
      expect(['critical', 'warning', 'info'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
    }
  });

  it('the issue-required alerts exist', () => {
    const exprOf = (name: string): string => rules().find((r) => r.alert === name)?.expr ?? '';
    expect(exprOf('AscendAuthzLatencyHigh')).toMatch(/p99/);
    expect(exprOf('AscendAuthzLatencyHigh')).toMatch(/0\.005/);
    expect(exprOf('AscendFailOpen')).toMatch(/ascend_fail_open_total/);
    expect(exprOf('AscendEvaluationErrors')).toMatch(/ascend_authz_errors_total/);
    expect(exprOf('AscendPolicyReloadFailed')).toMatch(/ascend_policy_reloads_total\{result="failure"\}/);
    expect(exprOf('AscendWebhookDeadLetters')).toMatch(/ascend_webhook_deliveries_total/);
    expect(exprOf('AscendSidecarDown')).toMatch(/^up\{job="ascend-sidecar"\} == 0/);
    expect(exprOf('AscendControlPlaneResends')).toMatch(/rate\(ascend_remote_retries_total\[/);
  });

  it('deploy/README.md has a runbook row for every alert, and none for an alert that does not exist', () => {
    const alerts = rules().flatMap((r) => (r.alert ? [r.alert] : []));
    const rows = new Map([...readme.matchAll(/^\| `(Ascend\w+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]));
    expect(alerts.filter((a) => !rows.has(a)), 'alerts without a row in the table').toEqual([]);
    expect([...rows.keys()].filter((a) => !alerts.includes(a)), 'rows for alerts that do not exist').toEqual([]);
    for (const r of rules().filter((x) => x.alert)) expect(rows.get(r.alert!), r.alert).toBe(r.labels?.severity);
  });

  it('recording rules are named level:metric:operations and defined once', () => {
    const recs = rules().flatMap((r) => (r.record ? [r.record] : []));
    expect(new Set(recs).size).toBe(recs.length);
    for (const r of recs) expect(r).toMatch(/^[a-z_]+:ascend_[a-z_]+:[a-z0-9_]+$/);
  });

  it('prometheusrule.yaml carries exactly the rule files\' groups', () => {
    const pr = yamlDoc<{ kind: string; spec: { groups: unknown } }>(deployPath('prometheus', 'prometheusrule.yaml'));
    expect(pr.kind).toBe('PrometheusRule');
    expect(pr.spec.groups, 'stale: run node deploy/prometheus/gen-prometheusrule.mjs').toEqual(ruleGroups());
  });
});

describe('grafana dashboard', () => {
  const d = dashboard();
  const panels = allPanels(d).filter((p) => p.type !== 'row');
  const recorded = new Set(rules().flatMap((r) => (r.record ? [r.record] : [])));

  it('deploy/README.md names every dashboard row, in order', () => {
    const list = /Rows:\s*([\s\S]*?)\. It needs the recording rules/.exec(readme)?.[1];
    expect(list, 'the "Rows: ..." sentence in deploy/README.md').toBeTruthy();
    const named = list!.replace(/\s+/g, ' ').split(';').map((item) => item.replace(/\(.*$/, '').trim());
    const titles = d.panels.filter((p) => p.type === 'row').map((p) => p.title.replace(/\s*\(.*$/, ''));
    expect(named).toEqual(titles);
  });

  it('has a stable uid, unique panel ids and a ${DS_PROMETHEUS} datasource variable', () => {
    expect(d.uid).toBe('ascend-sidecar');
    const ids = allPanels(d).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const ds = d.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
  });

  it('every panel, target, variable and annotation queries ${DS_PROMETHEUS}', () => {
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe('${DS_PROMETHEUS}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource?.uid, `${p.title} ${t.refId}`).toBe('${DS_PROMETHEUS}');
    }
    for (const v of d.templating.list.filter((x) => x.type === 'query')) expect(v.datasource?.uid, v.name).toBe('${DS_PROMETHEUS}');
    for (const a of d.annotations.list.filter((x) => x.expr)) expect(a.datasource?.uid).toBe('${DS_PROMETHEUS}');
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const cells = new Set<string>();
    for (const p of allPanels(d)) {
      const g = p.gridPos;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const k = `${x},${y}`;
          expect(cells.has(k), `${p.title} overlaps at ${k}`).toBe(false);
          cells.add(k);
        }
      }
    }
  });

  itWith('promtool', 'every expression is valid PromQL (promtool parses it)', () => {
    const exprs = dashboardExprs(d);
    expect(exprs.length).toBeGreaterThan(30);
    const file = join(tmp, 'dashboard-exprs.rules.yaml');
    writeFileSync(
      file,
      stringify({ groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `dashboard:expr_${i}:check`, expr: substituteGrafanaVars(e.expr) })) }] }),
    );
    const r = promtool(['check', 'rules', file]);
    expect(r.status, `${r.stdout}\n${r.stderr}\n${exprs.map((e, i) => `expr_${i}: ${e.where}`).join('\n')}`).toBe(0);
  });

  it('reads only recording rules that exist', () => {
    for (const { where, expr } of dashboardExprs(d)) {
      for (const m of metricNames(expr)) if (m.includes(':')) expect(recorded, `${where}: ${m}`).toContain(m);
    }
  });

  it('covers every metric the sidecar promises, directly or through a recording rule', () => {
    const direct = new Set(dashboardExprs(d).flatMap((e) => [...metricNames(e.expr)]));
    const viaRules = new Set(rules().filter((r) => r.record && direct.has(r.record)).flatMap((r) => [...metricNames(r.expr)]));
    const shown = new Set([...direct, ...viaRules].map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    const promised = [
      'ascend_authz_decisions_total', 'ascend_authz_check_duration_seconds', 'ascend_decision_cache_hits_total',
      'ascend_decision_cache_misses_total', 'ascend_decision_cache_entries', 'ascend_policy_reloads_total', 'ascend_fail_open_total',
      'ascend_authz_errors_total', 'ascend_flagged_total', 'ascend_monitor_overrides_total', 'ascend_config_info',
      'ascend_config_last_reload_success_timestamp_seconds', 'ascend_policies', 'ascend_routes',
      'ascend_approvals_pending', 'ascend_approvals_total', 'ascend_webhook_deliveries_total', 'ascend_webhook_outbox_depth',
      'ascend_audit_dropped_total', 'ascend_grant_memo_total', 'ascend_grant_memo_entries',
      'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes',
      'up',
    ];
    expect(promised.filter((m) => !shown.has(m))).toEqual([]);
  });

  it('shows p50, p95 and p99 from the histogram buckets', () => {
    const latency = panels.find((p) => p.title === 'Check latency p50 / p95 / p99')!;
    const exprs = latency.targets!.map((t) => t.expr).join('\n');
    for (const q of ['0.50', '0.95', '0.99']) expect(exprs).toContain(`histogram_quantile(${q}, sum by (le) (`);
  });
});
