/** The brief as Markdown (tables; agent text with `|` and newlines escaped so a cell stays a cell). */
import { MONITOR_HEAD, monitorRows, type Brief } from './brief.js';

const cell = (v: unknown): string => String(v ?? '—').replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ').replace(/</g, '&lt;');
const table = (head: readonly string[], rows: readonly (readonly unknown[])[]): string =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');

export function briefMarkdown(b: Brief): string {
  const p = b.posture;
  const t = b.approvals.time_to_decision_seconds;
  return `# Executive brief: ${b.since.slice(0, 10)} to ${b.until.slice(0, 10)}

## Posture

${table(['decisions', 'allowed', 'denied', 'pending', 'deny rate', 'high risk (≥ 70)', 'average risk', 'monitor would deny', 'pending approvals now', 'kill-switch events'],
  [[p.decisions, p.allowed, p.denied, p.pending, `${(p.deny_rate * 100).toFixed(1)} %`, p.high_risk, p.average_risk, p.monitor_would_deny, p.pending_approvals_now, p.kill_switch_events]])}
${p.truncated ? '\n_The period holds more audit rows than one brief reads: the oldest were left out._\n' : ''}
## Risk trend (per day, UTC)

${table(['date', 'decisions', 'average risk', 'max risk', 'high risk'], b.risk_trend.map((d) => [d.date, d.decisions, d.average_risk, d.max_risk, d.high_risk]))}

## Agents

${table(['agent', 'decisions', 'allowed', 'denied', 'pending', 'high risk', 'approved', 'denied by approvers'], b.agents.map((a) => [a.agent_id, a.total, a.allowed, a.denied, a.pending, a.high_risk, a.approvals.approved, a.approvals.denied]))}

## Top policies

${table(['policy', 'name', 'decisions', 'allowed', 'denied', 'pending', 'monitor would deny'], b.policies.slice(0, 20).map((x) => [x.policy_id, x.name, x.total, x.allowed, x.denied, x.pending, x.monitor_would_deny]))}

## Monitor mode: what enforcement would have stopped

${b.monitor.length === 0 ? 'None.' : table(MONITOR_HEAD, monitorRows(b))}

## Approvals

${table(['requested', 'approved', 'denied', 'still pending', 'decided', 'p50 (s)', 'p90 (s)', 'p99 (s)', 'max (s)'],
  [[b.approvals.requested, b.approvals.approved, b.approvals.denied, b.approvals.pending, t.count, t.p50, t.p90, t.p99, t.max]])}

## Kill-switch events

${b.kill_switch.length === 0 ? 'None.' : table(['time', 'event', 'agent', 'by', 'reason'], b.kill_switch.map((k) => [k.time, k.event, k.agent_id, k.actor, k.reason]))}
`;
}
