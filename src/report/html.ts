/**
 * The brief as one self-contained HTML file: inline CSS, inline SVG charts (the daily risk trend
 * and decisions per agent), no script and no network. Every value is HTML-escaped (agent ids
 * and reasons are the agents' own text).
 */
import type { Brief } from './brief.js';
import { briefTables, denyRate, type Table } from './tables.js';

export const esc = (v: unknown): string => String(v ?? '—')
  .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const table = ({ head, rows }: Table): string =>
  `<table><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

/** A line of average risk and bars of high-risk decisions per day, 0–100 on the y axis. */
export function riskChart(trend: Brief['risk_trend'], width = 720, height = 220): string {
  const pad = { l: 36, r: 12, t: 12, b: 28 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const n = Math.max(1, trend.length);
  const x = (i: number) => pad.l + (n === 1 ? w / 2 : (i * w) / (n - 1));
  const y = (v: number) => pad.t + h - (Math.min(100, Math.max(0, v)) / 100) * h;
  const maxHigh = Math.max(1, ...trend.map((d) => d.high_risk));
  const bars = trend.map((d, i) => {
    const bh = (d.high_risk / maxHigh) * h * 0.5;
    return `<rect x="${(x(i) - 6).toFixed(1)}" y="${(pad.t + h - bh).toFixed(1)}" width="12" height="${bh.toFixed(1)}" class="bar"><title>${esc(d.date)}: ${d.high_risk} high-risk</title></rect>`;
  }).join('');
  const pts = trend.map((d, i) => (d.average_risk === null ? null : `${x(i).toFixed(1)},${y(d.average_risk).toFixed(1)}`)).filter((p) => p !== null);
  const dots = trend.map((d, i) => (d.average_risk === null ? '' : `<circle cx="${x(i).toFixed(1)}" cy="${y(d.average_risk).toFixed(1)}" r="3" class="dot"><title>${esc(d.date)}: average risk ${d.average_risk}</title></circle>`)).join('');
  const grid = [0, 25, 50, 75, 100].map((v) => `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${pad.l - 6}" y="${y(v) + 4}" class="axis" text-anchor="end">${v}</text>`).join('');
  const labels = trend.map((d, i) => (n <= 14 || i % Math.ceil(n / 14) === 0 ? `<text x="${x(i).toFixed(1)}" y="${height - 8}" class="axis" text-anchor="middle">${esc(d.date.slice(5))}</text>` : '')).join('');
  return `<svg class="chart" role="img" aria-label="Risk trend: average risk per day (line) and high-risk decisions (bars)" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${grid}${bars}${pts.length > 1 ? `<polyline points="${pts.join(' ')}" class="line"/>` : ''}${dots}${labels}</svg>`;
}

/** Stacked horizontal bars: allowed, denied, pending per agent (the top 15). */
export function agentChart(agents: Brief['agents'], width = 720): string {
  const top = agents.slice(0, 15);
  const rowH = 22;
  const height = Math.max(1, top.length) * rowH + 8;
  const label = 180;
  const max = Math.max(1, ...top.map((a) => a.total));
  const scale = (v: number) => (v / max) * (width - label - 60);
  const rows = top.map((a, i) => {
    const yy = 4 + i * rowH;
    let xx = label;
    const seg = (v: number, cls: string) => {
      const s = `<rect x="${xx.toFixed(1)}" y="${yy}" width="${scale(v).toFixed(1)}" height="${rowH - 6}" class="${cls}"><title>${esc(a.agent_id)}: ${v} ${cls}</title></rect>`;
      xx += scale(v);
      return s;
    };
    const name = a.agent_id.length > 26 ? `${a.agent_id.slice(0, 25)}…` : a.agent_id;
    return `<text x="${label - 6}" y="${yy + 12}" class="axis" text-anchor="end">${esc(name)}</text>${seg(a.allowed, 'allowed')}${seg(a.denied, 'denied')}${seg(a.pending, 'pending')}<text x="${(xx + 4).toFixed(1)}" y="${yy + 12}" class="axis">${a.total}</text>`;
  }).join('');
  return `<svg class="chart" role="img" aria-label="Decisions per agent: allowed, denied, pending" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${rows}</svg>`;
}

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;max-width:980px;margin:24px auto;padding:0 16px;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:28px}table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left;overflow-wrap:anywhere}th{color:#4b5563;font-weight:600}
.kpis{display:flex;flex-wrap:wrap;gap:12px}.kpi{border:1px solid #d0d7de;border-radius:8px;padding:8px 12px;min-width:120px}
.kpi b{display:block;font-size:1.4rem}.chart{max-width:100%;height:auto}.grid{stroke:#e5e7eb}.axis{font-size:11px;fill:#4b5563}
.line{fill:none;stroke:#0b57d0;stroke-width:2}.dot{fill:#0b57d0}.bar{fill:#f0b6bf}.allowed{fill:#116329}.denied{fill:#a40e26}.pending{fill:#b7791f}
.note{color:#4b5563}`;

export function briefHtml(b: Brief): string {
  const p = b.posture;
  const t = briefTables(b);
  const orNone = (x: Table): string => (x.rows.length === 0 ? '<p>None.</p>' : table(x));
  const kpi = (label: string, v: unknown) => `<div class="kpi"><b>${esc(v)}</b>${esc(label)}</div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>ascend-sidecar executive brief ${esc(b.since.slice(0, 10))} to ${esc(b.until.slice(0, 10))}</title><style>${STYLE}</style></head>
<body>
<h1>Executive brief: ${esc(b.since.slice(0, 10))} to ${esc(b.until.slice(0, 10))}</h1>
<p class="note">From ${esc(b.since)} to ${esc(b.until)}, read from the sidecar's audit trail and approvals.</p>
<h2>Posture</h2>
<div class="kpis">${kpi('decisions', p.decisions)}${kpi('denied', denyRate(b))}${kpi('high risk (≥ 70)', p.high_risk)}${kpi('average risk', p.average_risk)}${kpi('monitor would deny', p.monitor_would_deny)}${kpi('pending approvals now', p.pending_approvals_now)}${kpi('kill-switch events', p.kill_switch_events)}</div>
${p.truncated ? '<p class="note">The period holds more audit rows than one brief reads: the oldest were left out.</p>' : ''}
<h2>Risk trend</h2>
${riskChart(b.risk_trend)}
${table(t.riskTrend)}
<h2>Agents</h2>
${agentChart(b.agents)}
${table(t.agents)}
<h2>Top policies</h2>
${table(t.policies)}
<h2>Monitor mode: what enforcement would have stopped</h2>
${orNone(t.monitor)}
<h2>Approvals</h2>
${table(t.approvals)}
<h2>Kill-switch events</h2>
${orNone(t.killSwitch)}
</body></html>
`;
}
