/**
 * The executive brief: what the store's audit trail and approvals say about a period — posture,
 * decisions per agent, top policies, monitor-mode would-denies, approvals' time to decision,
 * kill-switch events and the daily risk trend. One read of the period's audit rows (paged,
 * newest first, at most MAX_ROWS) and of the approvals requested in it; the renderers
 * (markdown.ts, html.ts) only format this object.
 */
import type { ApprovalRecord, StoredAuditRecord } from '../approvals/store/records.js';
import type { Store } from '../approvals/store/store.js';

export const MAX_ROWS = 500_000;
const DAY = 86_400_000;
/** A decision at or above this risk score counts as high risk. */
export const HIGH_RISK = 70;

type Counts = { allowed: number; denied: number; pending: number; total: number };
const counts = (): Counts => ({ allowed: 0, denied: 0, pending: 0, total: 0 });

export interface Brief {
  readonly since: string;
  readonly until: string;
  readonly posture: {
    decisions: number; allowed: number; denied: number; pending: number; deny_rate: number;
    high_risk: number; average_risk: number | null; monitor_would_deny: number;
    pending_approvals_now: number; kill_switch_events: number; truncated: boolean;
  };
  readonly agents: (Counts & { agent_id: string; high_risk: number; approvals: { approved: number; denied: number } })[];
  readonly policies: (Counts & { policy_id: string; name: string | null; monitor_would_deny: number })[];
  readonly approvals: {
    requested: number; approved: number; denied: number; pending: number;
    time_to_decision_seconds: { count: number; p50: number | null; p90: number | null; p99: number | null; max: number | null };
  };
  readonly risk_trend: { date: string; decisions: number; average_risk: number | null; max_risk: number | null; high_risk: number }[];
  readonly kill_switch: { time: string; event: string; agent_id: string; actor: string | null; reason: string | null }[];
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const iso = (ms: number): string => new Date(ms).toISOString();
/** Global monitor mode lets a decision through and says so in its reason (policy/decide.ts). */
const isMonitorWouldDeny = (r: StoredAuditRecord): boolean => r.decision === 'allowed' && (r.reason ?? '').startsWith('monitor mode:');

async function auditRows(store: Pick<Store, 'queryAudit'>, since: number, until: number): Promise<{ rows: StoredAuditRecord[]; truncated: boolean }> {
  const rows: StoredAuditRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.queryAudit({ limit: 1000, event_type: '*', since, until, ...(cursor ? { cursor } : {}) });
    rows.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined && rows.length < MAX_ROWS);
  return { rows, truncated: cursor !== undefined };
}

/** Approvals requested in [since, until), read newest first until older than `since`. */
async function approvalsIn(store: Pick<Store, 'listApprovals'>, since: number, until: number): Promise<ApprovalRecord[]> {
  const out: ApprovalRecord[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listApprovals({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const a of page.items) if (a.requested_at >= since && a.requested_at < until) out.push(a);
    const oldest = page.items.at(-1);
    cursor = page.next_cursor;
    if (cursor === undefined || oldest === undefined || oldest.requested_at < since || out.length >= MAX_ROWS) return out;
  }
}

export interface BriefOptions {
  readonly since: number;
  readonly until: number;
  /** The config's policies, for their names. */
  readonly policyNames?: ReadonlyMap<string, string>;
}

export async function buildBrief(store: Pick<Store, 'queryAudit' | 'listApprovals' | 'countApprovals' | 'getAction'>, o: BriefOptions): Promise<Brief> {
  const { rows, truncated } = await auditRows(store, o.since, o.until);
  const approvals = await approvalsIn(store, o.since, o.until);
  const total = counts();
  const byAgent = new Map<string, Counts & { high_risk: number; approvals: { approved: number; denied: number } }>();
  const byPolicy = new Map<string, Counts & { monitor_would_deny: number }>();
  const byDay = new Map<string, { n: number; sum: number; scored: number; max: number | null; high: number }>();
  const kill: Brief['kill_switch'] = [];
  let high = 0;
  let riskSum = 0;
  let scored = 0;
  let monitor = 0;
  for (let d = Math.floor(o.since / DAY) * DAY; d < o.until; d += DAY) byDay.set(iso(d).slice(0, 10), { n: 0, sum: 0, scored: 0, max: null, high: 0 });
  for (const r of rows) {
    if (r.event_type !== 'decision') {
      kill.push({ time: iso(r.ts), event: r.event_type, agent_id: r.agent_id, actor: r.actor, reason: r.reason });
      continue;
    }
    total[r.decision]++;
    total.total++;
    const agentId = r.agent_id === '' ? '(none)' : r.agent_id;
    let a = byAgent.get(agentId);
    if (!a) byAgent.set(agentId, (a = { ...counts(), high_risk: 0, approvals: { approved: 0, denied: 0 } }));
    a[r.decision]++;
    a.total++;
    if (r.policy_id !== null) {
      let p = byPolicy.get(r.policy_id);
      if (!p) byPolicy.set(r.policy_id, (p = { ...counts(), monitor_would_deny: 0 }));
      p[r.decision]++;
      p.total++;
      if (isMonitorWouldDeny(r)) { p.monitor_would_deny++; monitor++; }
    }
    const day = byDay.get(iso(r.ts).slice(0, 10));
    if (r.risk_score !== null) {
      riskSum += r.risk_score;
      scored++;
      if (r.risk_score >= HIGH_RISK) { high++; a.high_risk++; if (day) day.high++; }
      if (day) { day.sum += r.risk_score; day.scored++; day.max = Math.max(day.max ?? 0, r.risk_score); }
    }
    if (day) day.n++;
  }
  const waits: number[] = [];
  const ap = { approved: 0, denied: 0, pending: 0 };
  for (const x of approvals) {
    ap[x.state]++;
    if (x.state !== 'pending') {
      // An approval's agent is its action's.
      const action = await store.getAction(x.action_id);
      const agentId = !action || action.agent_id === '' ? '(none)' : action.agent_id;
      let a = byAgent.get(agentId);
      if (!a) byAgent.set(agentId, (a = { ...counts(), high_risk: 0, approvals: { approved: 0, denied: 0 } }));
      a.approvals[x.state]++;
    }
    if (x.state !== 'pending' && x.decided_at !== null) waits.push((x.decided_at - x.requested_at) / 1000);
  }
  waits.sort((p, q) => p - q);
  const pct = (p: number) => { const v = percentile(waits, p); return v === null ? null : round(v); };
  return {
    since: iso(o.since), until: iso(o.until),
    posture: {
      decisions: total.total, allowed: total.allowed, denied: total.denied, pending: total.pending,
      deny_rate: total.total === 0 ? 0 : round(total.denied / total.total, 4), high_risk: high,
      average_risk: scored === 0 ? null : round(riskSum / scored), monitor_would_deny: monitor,
      pending_approvals_now: await store.countApprovals('pending'), kill_switch_events: kill.length, truncated,
    },
    agents: [...byAgent].map(([agent_id, c]) => ({ agent_id, ...c })).sort((x, y) => y.total - x.total || x.agent_id.localeCompare(y.agent_id)),
    policies: [...byPolicy].map(([policy_id, c]) => ({ policy_id, name: o.policyNames?.get(policy_id) ?? null, ...c }))
      .sort((x, y) => y.total - x.total || x.policy_id.localeCompare(y.policy_id)),
    approvals: {
      requested: approvals.length, ...ap,
      time_to_decision_seconds: { count: waits.length, p50: pct(50), p90: pct(90), p99: pct(99), max: waits.length ? round(waits.at(-1) as number) : null },
    },
    risk_trend: [...byDay].map(([date, d]) => ({ date, decisions: d.n, average_risk: d.scored ? round(d.sum / d.scored) : null, max_risk: d.max, high_risk: d.high })),
    kill_switch: kill.reverse(),
  };
}
