/**
 * Smart rules: policy suggestions from what was decided (the decision log or the audit trail).
 * Pure: observations in, suggestions out; nothing here writes a config. Four patterns:
 *
 * - `frequent_denial`: an agent keeps asking for an action nothing allows (denied by the
 *   default): make the refusal explicit, or see why the agent keeps trying;
 * - `always_approved`: humans approved an agent's action every time it was asked (at least
 *   `minCount` times, never denied): a candidate for `allow`;
 * - `unused_allow`: an `allow` policy that decided nothing in the period: a candidate to disable;
 * - `agent_anomaly`: an agent's volume or mean risk on its last active day is `zThreshold` standard
 *   deviations above its own earlier days (at least three of them): flag its actions for review.
 */
import type { PolicyConfig } from '../config/schema.js';

export interface Observation {
  readonly ts: number;
  readonly agent_id: string | null;
  readonly action_type: string;
  readonly decision: 'allowed' | 'denied' | 'pending';
  /** The decision code (policy_deny, default_deny, approval_granted, …). */
  readonly code: string;
  readonly policy_id: string | null;
  readonly risk_score: number;
}

export type SuggestionKind = 'frequent_denial' | 'always_approved' | 'unused_allow' | 'agent_anomaly';

export interface Suggestion {
  readonly kind: SuggestionKind;
  readonly action_type: string;
  readonly agent_id?: string;
  readonly why: string;
  readonly suggested_policy: Record<string, unknown>;
  readonly evidence: { readonly count: number; readonly since: string; readonly until: string; readonly [k: string]: unknown };
}

export interface SuggestOptions {
  /** The config's policies: priorities to outrank, and allow policies to check for use. */
  readonly policies?: readonly PolicyConfig[];
  /** Fewest observations a pattern needs (default 5). */
  readonly minCount?: number;
  readonly zThreshold?: number;
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 48);

interface Group { agent: string | null; action: string; obs: Observation[] }

function groupBy(obs: readonly Observation[], keep: (o: Observation) => boolean): Group[] {
  const m = new Map<string, Group>();
  for (const o of obs) {
    if (!keep(o)) continue;
    const k = `${o.agent_id ?? ''}\0${o.action_type}`;
    let g = m.get(k);
    if (g === undefined) m.set(k, (g = { agent: o.agent_id, action: o.action_type, obs: [] }));
    g.obs.push(o);
  }
  return [...m.values()];
}

function range(obs: readonly Observation[]): { since: string; until: string } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const o of obs) {
    if (o.ts < lo) lo = o.ts;
    if (o.ts > hi) hi = o.ts;
  }
  return { since: iso(lo), until: iso(hi) };
}

function conditions(g: Group): Record<string, unknown> {
  return g.agent === null ? { action_type: g.action } : { action_type: g.action, agent_id: g.agent };
}

function frequentDenials(obs: readonly Observation[], min: number): Suggestion[] {
  return groupBy(obs, (o) => o.code === 'default_deny').filter((g) => g.obs.length >= min).map((g) => ({
    kind: 'frequent_denial',
    action_type: g.action,
    ...(g.agent !== null ? { agent_id: g.agent } : {}),
    why: `denied ${g.obs.length} times by the default (no policy matched): make the refusal explicit, or grant it if the agent needs it`,
    suggested_policy: { id: `sug_deny_${slug(`${g.agent ?? 'anyone'}_${g.action}`)}`, name: `Deny ${g.action}${g.agent ? ` to ${g.agent}` : ''} (suggested)`, priority: 50, conditions: conditions(g), action: 'deny' },
    evidence: { count: g.obs.length, ...range(g.obs) },
  }));
}

function alwaysApproved(obs: readonly Observation[], min: number, policies: readonly PolicyConfig[]): Suggestion[] {
  const denied = new Set(groupBy(obs, (o) => o.code === 'approval_denied').map((g) => `${g.agent ?? ''}\0${g.action}`));
  return groupBy(obs, (o) => o.code === 'approval_granted')
    .filter((g) => g.obs.length >= min && !denied.has(`${g.agent ?? ''}\0${g.action}`))
    .map((g) => {
      const ids = new Set(g.obs.map((o) => o.policy_id).filter((p): p is string => p !== null));
      // Outrank the require_approval policy that sent it to a human.
      const priority = Math.max(0, ...policies.filter((p) => ids.has(p.id)).map((p) => p.priority)) + 1;
      return {
        kind: 'always_approved' as const,
        action_type: g.action,
        ...(g.agent !== null ? { agent_id: g.agent } : {}),
        why: `approved by a human all ${g.obs.length} times (never denied)${ids.size ? ` under ${[...ids].join(', ')}` : ''}: a candidate for allow`,
        suggested_policy: { id: `sug_allow_${slug(`${g.agent ?? 'anyone'}_${g.action}`)}`, name: `Allow ${g.action}${g.agent ? ` for ${g.agent}` : ''} (always approved)`, priority, conditions: conditions(g), action: 'allow' },
        evidence: { count: g.obs.length, ...range(g.obs), approved: g.obs.length, denied: 0 },
      };
    });
}

function unusedAllows(obs: readonly Observation[], policies: readonly PolicyConfig[]): Suggestion[] {
  if (obs.length === 0) return [];
  const used = new Set(obs.map((o) => o.policy_id));
  const r = range(obs);
  return policies.filter((p) => p.enabled && p.action === 'allow' && !used.has(p.id)).map((p) => {
    const at = p.conditions.action_type;
    return {
      kind: 'unused_allow' as const,
      action_type: typeof at === 'string' ? at : '*',
      why: `allowed nothing in ${obs.length} decisions: a candidate to disable (or the rule it stands for moved elsewhere)`,
      suggested_policy: { ...p, enabled: false },
      evidence: { count: 0, ...r, decisions_seen: obs.length },
    };
  });
}

function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { mean, sd };
}

function anomalies(obs: readonly Observation[], z: number): Suggestion[] {
  const byAgent = new Map<string, Map<number, Observation[]>>();
  for (const o of obs) {
    if (o.agent_id === null) continue;
    const days = byAgent.get(o.agent_id) ?? new Map<number, Observation[]>();
    byAgent.set(o.agent_id, days);
    const d = Math.floor(o.ts / DAY);
    days.set(d, [...(days.get(d) ?? []), o]);
  }
  const out: Suggestion[] = [];
  for (const [agent, days] of byAgent) {
    const keys = [...days.keys()].sort((a, b) => a - b);
    if (keys.length < 4) continue;
    const last = days.get(keys.at(-1) as number) as Observation[];
    const history = keys.slice(0, -1).map((k) => days.get(k) as Observation[]);
    const volume = meanSd(history.map((h) => h.length));
    const risk = meanSd(history.map((h) => h.reduce((a, o) => a + o.risk_score, 0) / h.length));
    const lastRisk = last.reduce((a, o) => a + o.risk_score, 0) / last.length;
    // A floor under σ: a perfectly steady history would otherwise make any change infinite.
    const zVolume = (last.length - volume.mean) / Math.max(volume.sd, 1);
    const zRisk = (lastRisk - risk.mean) / Math.max(risk.sd, 1);
    if (zVolume < z && zRisk < z) continue;
    const counts = new Map<string, number>();
    for (const o of last) counts.set(o.action_type, (counts.get(o.action_type) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '*';
    const what = [zVolume >= z ? `volume ${last.length}/day vs ${volume.mean.toFixed(1)} ± ${volume.sd.toFixed(1)} (z ${zVolume.toFixed(1)})` : '',
      zRisk >= z ? `mean risk ${lastRisk.toFixed(0)} vs ${risk.mean.toFixed(0)} ± ${risk.sd.toFixed(1)} (z ${zRisk.toFixed(1)})` : ''].filter(Boolean).join('; ');
    out.push({
      kind: 'agent_anomaly',
      action_type: top,
      agent_id: agent,
      why: `${agent} jumped on ${iso(keys.at(-1) as number * DAY).slice(0, 10)}: ${what}`,
      suggested_policy: { id: `sug_flag_${slug(agent)}`, name: `Flag ${agent} for review (suggested)`, priority: 95, conditions: { agent_id: agent }, action: 'flag' },
      evidence: { count: last.length, ...range(last), history_days: history.length, z_volume: Number(zVolume.toFixed(2)), z_risk: Number(zRisk.toFixed(2)) },
    });
  }
  return out;
}

export function suggest(obs: readonly Observation[], opts: SuggestOptions = {}): Suggestion[] {
  const min = opts.minCount ?? 5;
  const policies = opts.policies ?? [];
  return [
    ...frequentDenials(obs, min),
    ...alwaysApproved(obs, min, policies),
    ...unusedAllows(obs, policies),
    ...anomalies(obs, opts.zThreshold ?? 3),
  ].sort((a, b) => b.evidence.count - a.evidence.count);
}

/**
 * The code a stored audit row stands for: rows keep the decision and the policy, not the code,
 * so a row decided under a require_approval policy is a human's answer (allowed: granted).
 */
export function codeOfAuditRow(row: { decision: string; policy_id: string | null }, policies: readonly PolicyConfig[]): string {
  const p = row.policy_id === null ? undefined : policies.find((x) => x.id === row.policy_id);
  if (p === undefined) return row.decision === 'denied' ? 'default_deny' : row.decision === 'allowed' ? 'default_allow' : 'approval_required';
  if (p.action === 'require_approval') return row.decision === 'allowed' ? 'approval_granted' : row.decision === 'denied' ? 'approval_denied' : 'approval_required';
  return row.decision === 'denied' ? 'policy_deny' : 'policy_allow';
}
