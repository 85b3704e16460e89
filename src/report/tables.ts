/**
 * The brief's tables as data: a head and rows of plain values, built once here and rendered by
 * markdown.ts and html.ts, each escaping the values its own way. A column added here appears in
 * both; the renderers hold no row building of their own.
 */
import { MONITOR_HEAD, monitorRows, type Brief } from './brief.js';

export interface Table {
  readonly head: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

export interface BriefTables {
  /** The posture in one row (the HTML rendering shows it as figures instead). */
  readonly posture: Table;
  readonly riskTrend: Table;
  readonly agents: Table;
  /** The top 20. */
  readonly policies: Table;
  /** No rows: nothing to show ("None."). */
  readonly monitor: Table;
  readonly approvals: Table;
  /** No rows: nothing to show ("None."). */
  readonly killSwitch: Table;
}

export function briefTables(b: Brief): BriefTables {
  const p = b.posture;
  const t = b.approvals.time_to_decision_seconds;
  return {
    posture: {
      head: ['decisions', 'allowed', 'denied', 'pending', 'deny rate', 'high risk (≥ 70)', 'average risk', 'monitor would deny', 'pending approvals now', 'kill-switch events'],
      rows: [[p.decisions, p.allowed, p.denied, p.pending, denyRate(b), p.high_risk, p.average_risk, p.monitor_would_deny, p.pending_approvals_now, p.kill_switch_events]],
    },
    riskTrend: {
      head: ['date', 'decisions', 'average risk', 'max risk', 'high risk'],
      rows: b.risk_trend.map((d) => [d.date, d.decisions, d.average_risk, d.max_risk, d.high_risk]),
    },
    agents: {
      head: ['agent', 'decisions', 'allowed', 'denied', 'pending', 'high risk', 'approved', 'denied by approvers'],
      rows: b.agents.map((a) => [a.agent_id, a.total, a.allowed, a.denied, a.pending, a.high_risk, a.approvals.approved, a.approvals.denied]),
    },
    policies: {
      head: ['policy', 'name', 'decisions', 'allowed', 'denied', 'pending', 'monitor would deny'],
      rows: b.policies.slice(0, 20).map((x) => [x.policy_id, x.name, x.total, x.allowed, x.denied, x.pending, x.monitor_would_deny]),
    },
    monitor: { head: MONITOR_HEAD, rows: monitorRows(b) },
    approvals: {
      head: ['requested', 'approved', 'denied', 'still pending', 'decided', 'p50 (s)', 'p90 (s)', 'p99 (s)', 'max (s)'],
      rows: [[b.approvals.requested, b.approvals.approved, b.approvals.denied, b.approvals.pending, t.count, t.p50, t.p90, t.p99, t.max]],
    },
    killSwitch: {
      head: ['time', 'event', 'agent', 'by', 'reason'],
      rows: b.kill_switch.map((k) => [k.time, k.event, k.agent_id, k.actor, k.reason]),
    },
  };
}

/** The deny rate as both renderings print it (`12.5 %`). */
export const denyRate = (b: Brief): string => `${(b.posture.deny_rate * 100).toFixed(1)} %`;
