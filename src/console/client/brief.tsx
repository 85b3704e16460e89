/** The executive brief (the same object as `ascend-sidecar report --format json`), with its risk chart. */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { when } from './format.js';

interface Brief {
  since: string; until: string;
  posture: { decisions: number; allowed: number; denied: number; pending: number; deny_rate: number; high_risk: number; average_risk: number | null; monitor_would_deny: number; pending_approvals_now: number; kill_switch_events: number };
  agents: { agent_id: string; total: number; allowed: number; denied: number; pending: number; high_risk: number; approvals: { approved: number; denied: number } }[];
  policies: { policy_id: string; name: string | null; total: number; allowed: number; denied: number; pending: number; monitor_would_deny: number }[];
  monitor: { policy_id: string | null; name: string | null; mode: 'global' | 'policy'; would_deny: number; would_hold: number }[];
  approvals: { requested: number; approved: number; denied: number; pending: number; time_to_decision_seconds: { count: number; p50: number | null; p90: number | null; p99: number | null; max: number | null } };
  risk_trend: { date: string; decisions: number; average_risk: number | null; max_risk: number | null; high_risk: number }[];
  kill_switch: { time: string; event: string; agent_id: string; actor: string | null; reason: string | null }[];
}

function RiskChart({ trend }: { trend: Brief['risk_trend'] }) {
  const W = 720, H = 200, L = 36, R = 12, T = 10, B = 24;
  const n = Math.max(1, trend.length);
  const x = (i: number) => L + (n === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
  const y = (v: number) => T + (H - T - B) * (1 - Math.min(100, Math.max(0, v)) / 100);
  const pts = trend.flatMap((d, i) => (d.average_risk === null ? [] : [`${x(i)},${y(d.average_risk)}`]));
  return (
    <svg class="chart" role="img" aria-label="Average risk per day" viewBox={`0 0 ${W} ${H}`} width={W} height={H}>
      {[0, 50, 100].map((v) => <g><line x1={L} x2={W - R} y1={y(v)} y2={y(v)} stroke="#e5e7eb" /><text x={L - 6} y={y(v) + 4} font-size="11" text-anchor="end" fill="#4b5563">{v}</text></g>)}
      {pts.length > 1 && <polyline points={pts.join(' ')} fill="none" stroke="#0b57d0" stroke-width="2" />}
      {trend.map((d, i) => d.average_risk === null ? null : <circle cx={x(i)} cy={y(d.average_risk)} r="3" fill="#0b57d0"><title>{`${d.date}: ${d.average_risk}`}</title></circle>)}
      {trend.map((d, i) => (n <= 14 || i % Math.ceil(n / 14) === 0) && <text x={x(i)} y={H - 6} font-size="11" text-anchor="middle" fill="#4b5563">{d.date.slice(5)}</text>)}
    </svg>
  );
}

export function BriefPage() {
  const [since, setSince] = useState('7d');
  const [b, setB] = useState<Brief | undefined>();
  const [error, setError] = useState('');
  useEffect(() => { api<Brief>('GET', `/brief?since=${since}`).then((r) => { setB(r); setError(''); }, (e: unknown) => setError(e instanceof Error ? e.message : String(e))); }, [since]);
  const t = b?.approvals.time_to_decision_seconds;
  return (
    <section aria-labelledby="brief-title">
      <h1 id="brief-title">Executive brief</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>Period
          <select data-testid="brief-since" value={since} onChange={(e) => setSince((e.target as HTMLSelectElement).value)}>
            <option value="1d">last day</option><option value="7d">last 7 days</option><option value="30d">last 30 days</option>
          </select>
        </label>
        <a href={`/console/api/brief.html?since=${since}`} download>Download as HTML</a>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {b && <>
        <p class="hint">{when(b.since)} to {when(b.until)}</p>
        <dl class="facts" data-testid="posture">
          <dt>Decisions</dt><dd>{b.posture.decisions} ({b.posture.allowed} allowed, {b.posture.denied} denied, {b.posture.pending} pending; {(b.posture.deny_rate * 100).toFixed(1)} % denied)</dd>
          <dt>High risk (≥ 70)</dt><dd>{b.posture.high_risk}; average risk {b.posture.average_risk ?? '—'}</dd>
          <dt>Monitor would deny</dt><dd>{b.posture.monitor_would_deny}</dd>
          <dt>Approvals</dt><dd>{b.approvals.requested} requested, {b.approvals.approved} approved, {b.approvals.denied} denied; {b.posture.pending_approvals_now} pending now</dd>
          <dt>Time to decision</dt><dd>p50 {t?.p50 ?? '—'} s, p90 {t?.p90 ?? '—'} s, p99 {t?.p99 ?? '—'} s</dd>
          <dt>Kill switch</dt><dd>{b.posture.kill_switch_events} event(s)</dd>
        </dl>
        <h2>Risk trend</h2>
        <RiskChart trend={b.risk_trend} />
        <h2>Agents</h2>
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Agent</th><th scope="col">Decisions</th><th scope="col">Allowed</th><th scope="col">Denied</th><th scope="col">Pending</th><th scope="col">High risk</th><th scope="col">Approved / denied by approvers</th></tr></thead>
          <tbody>{b.agents.map((a) => <tr data-testid="brief-agent"><td>{a.agent_id}</td><td>{a.total}</td><td>{a.allowed}</td><td>{a.denied}</td><td>{a.pending}</td><td>{a.high_risk}</td><td>{a.approvals.approved} / {a.approvals.denied}</td></tr>)}</tbody>
        </table></div>
        <h2>Top policies</h2>
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Policy</th><th scope="col">Decisions</th><th scope="col">Allowed / denied / pending</th><th scope="col">Monitor would deny</th></tr></thead>
          <tbody>{b.policies.slice(0, 20).map((p) => <tr><td>{p.name ? `${p.name} (${p.policy_id})` : p.policy_id}</td><td>{p.total}</td><td>{p.allowed} / {p.denied} / {p.pending}</td><td>{p.monitor_would_deny}</td></tr>)}</tbody>
        </table></div>
        <h2>Monitor mode: what enforcement would have stopped</h2>
        {b.monitor.length === 0 ? <p>None in this period.</p> : (
          <div class="table-wrap"><table>
            <thead><tr><th scope="col">Policy</th><th scope="col">Monitor mode</th><th scope="col">Would deny</th><th scope="col">Would hold for approval</th></tr></thead>
            <tbody>{b.monitor.map((m) => (
              <tr data-testid="brief-monitor" data-policy-id={m.policy_id ?? ''} data-mode={m.mode}>
                <td>{m.policy_id === null ? '(default decision)' : m.name ? `${m.name} (${m.policy_id})` : m.policy_id}</td>
                <td>{m.mode === 'global' ? 'global (mode: monitor)' : "the policy's own"}</td><td>{m.would_deny}</td><td>{m.would_hold}</td>
              </tr>
            ))}</tbody>
          </table></div>
        )}
        <h2>Kill-switch events</h2>
        {b.kill_switch.length === 0 ? <p>None.</p> : <ul>{b.kill_switch.map((k) => <li>{when(k.time)} {k.event} {k.agent_id}{k.actor ? ` by ${k.actor}` : ''}{k.reason ? `: ${k.reason}` : ''}</li>)}</ul>}
      </>}
    </section>
  );
}
