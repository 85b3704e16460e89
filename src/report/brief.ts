/**
 * The executive brief: what the store's audit trail and approvals say about a period — posture,
 * decisions per agent, top policies, monitor-mode would-denies (global and per policy), approvals' time to decision,
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
  /**
   * What monitor mode let through, per policy that would have decided otherwise (null: the
   * default decision) and per kind of monitor mode: `global` (the config's `mode: monitor`) or
   * `policy` (the policy's own `mode: monitor`). Most would-denies first.
   */
  readonly monitor: MonitorCount[];
  readonly approvals: {
    requested: number; approved: number; denied: number; pending: number;
    time_to_decision_seconds: { count: number; p50: number | null; p90: number | null; p99: number | null; max: number | null };
  };
  readonly risk_trend: { date: string; decisions: number; average_risk: number | null; max_risk: number | null; high_risk: number }[];
  readonly kill_switch: { time: string; event: string; agent_id: string; actor: string | null; reason: string | null }[];
}

export interface MonitorCount {
  readonly policy_id: string | null;
  readonly name: string | null;
  readonly mode: MonitorMode;
  /** Requests enforcement would have denied. */
  would_deny: number;
  /** Requests enforcement would have held for approval. */
  would_hold: number;
}

type MonitorMode = 'global' | 'policy';

/** The monitor-mode table both renderers print (header, then one row per count). */
export const MONITOR_HEAD = ['policy', 'name', 'monitor mode', 'would deny', 'would hold'] as const;
export const monitorRows = (b: Brief): unknown[][] =>
  b.monitor.map((m) => [m.policy_id ?? '(default decision)', m.name, m.mode === 'global' ? 'global (mode: monitor)' : "the policy's own", m.would_deny, m.would_hold]);

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const iso = (ms: number): string => new Date(ms).toISOString();
/**
 * What monitor mode changed about a decision row: `details.monitor` (observability/audit-sink.ts),
 * or for rows written before it was recorded, global monitor mode's reason prefix
 * (policy/decide.ts), which does not say whether the request would have been denied or held.
 */
function monitorOf(r: StoredAuditRecord): { policy_id: string | null; would_be: string; mode: MonitorMode } | undefined {
  const m = r.details?.monitor as { policy_id?: unknown; would_be?: unknown; mode?: unknown } | undefined;
  if (m !== undefined && m !== null && typeof m.would_be === 'string') {
    return { policy_id: typeof m.policy_id === 'string' ? m.policy_id : null, would_be: m.would_be, mode: m.mode === 'global' ? 'global' : 'policy' };
  }
  if (r.decision === 'allowed' && (r.reason ?? '').startsWith('monitor mode:')) return { policy_id: r.policy_id, would_be: 'denied', mode: 'global' };
  return undefined;
}

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

/** Actions read per store call: one query each, not one per approval. */
const ACTIONS_PER_READ = 1000;

/** The agent of each action of `ids` the store has, by action id. */
async function agentsOfActions(store: Pick<Store, 'getActions'>, ids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += ACTIONS_PER_READ) {
    for (const a of await store.getActions(unique.slice(i, i + ACTIONS_PER_READ))) out.set(a.action_id, a.agent_id);
  }
  return out;
}

export interface BriefOptions {
  readonly since: number;
  readonly until: number;
  /** The config's policies, for their names. */
  readonly policyNames?: ReadonlyMap<string, string>;
}

export async function buildBrief(store: Pick<Store, 'queryAudit' | 'listApprovals' | 'countApprovals' | 'getActions'>, o: BriefOptions): Promise<Brief> {
  const { rows, truncated } = await auditRows(store, o.since, o.until);
  const approvals = await approvalsIn(store, o.since, o.until);
  const total = counts();
  const byAgent = new Map<string, Counts & { high_risk: number; approvals: { approved: number; denied: number } }>();
  const byPolicy = new Map<string, Counts & { monitor_would_deny: number }>();
  const policy = (id: string) => {
    let p = byPolicy.get(id);
    if (!p) byPolicy.set(id, (p = { ...counts(), monitor_would_deny: 0 }));
    return p;
  };
  const monitors = new Map<string, MonitorCount>();
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
      const p = policy(r.policy_id);
      p[r.decision]++;
      p.total++;
    }
    const m = monitorOf(r);
    if (m && (m.would_be === 'denied' || m.would_be === 'pending')) {
      monitor++;
      // A policy in its own monitor mode never decides: it appears among the policies by this count.
      if (m.policy_id !== null) policy(m.policy_id).monitor_would_deny++;
      const key = `${m.mode}\u0000${m.policy_id ?? ''}`;
      let c = monitors.get(key);
      if (!c) monitors.set(key, (c = { policy_id: m.policy_id, name: m.policy_id === null ? null : o.policyNames?.get(m.policy_id) ?? null, mode: m.mode, would_deny: 0, would_hold: 0 }));
      if (m.would_be === 'denied') c.would_deny++;
      else c.would_hold++;
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
  // An approval's agent is its action's: the decided approvals' actions read in batches.
  const agentOf = await agentsOfActions(store, approvals.filter((x) => x.state !== 'pending').map((x) => x.action_id));
  for (const x of approvals) {
    ap[x.state]++;
    if (x.state !== 'pending') {
      const agent = agentOf.get(x.action_id);
      const agentId = agent === undefined || agent === '' ? '(none)' : agent;
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
    monitor: [...monitors.values()].sort((x, y) => y.would_deny + y.would_hold - (x.would_deny + x.would_hold)
      || (x.policy_id ?? '').localeCompare(y.policy_id ?? '') || x.mode.localeCompare(y.mode)),
    approvals: {
      requested: approvals.length, ...ap,
      time_to_decision_seconds: { count: waits.length, p50: pct(50), p90: pct(90), p99: pct(99), max: waits.length ? round(waits.at(-1) as number) : null },
    },
    risk_trend: [...byDay].map(([date, d]) => ({ date, decisions: d.n, average_risk: d.scored ? round(d.sum / d.scored) : null, max_risk: d.max, high_risk: d.high })),
    kill_switch: kill.reverse(),
  };
}
