/** The Prometheus rule files and the Grafana dashboard under deploy/, as data. */
import { readFileSync } from 'node:fs';
import { deployPath, yamlDoc } from './deploy.js';

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export const RULE_FILES = ['recording.rules.yaml', 'alerts.rules.yaml'].map((f) => deployPath('prometheus', f));

export function ruleGroups(): RuleGroup[] {
  return RULE_FILES.flatMap((f) => yamlDoc<{ groups: RuleGroup[] }>(f).groups);
}

export function rules(): Rule[] {
  return ruleGroups().flatMap((g) => g.rules);
}

export const DASHBOARD = deployPath('grafana', 'ascend-sidecar.json');

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; refId: string; datasource?: { type?: string; uid?: string } }[];
  panels?: Panel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; datasource?: { uid?: string } }[] };
  annotations: { list: { expr?: string; datasource?: { uid?: string } }[] };
}

export function dashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
}

export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression in the dashboard: panel targets, variable queries, annotations. */
export function dashboardExprs(d: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of allPanels(d)) for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
  for (const a of d.annotations.list) if (a.expr) out.push({ where: 'annotation', expr: a.expr });
  for (const v of d.templating.list) {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    const m = q ? /^label_values\((.*),\s*\w+\)$/.exec(q) : null;
    if (m) out.push({ where: `variable ${v.name}`, expr: m[1]! });
  }
  return out;
}
