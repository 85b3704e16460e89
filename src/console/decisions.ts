/**
 * The console's view of decisions as they happen: a pipeline sink (record is synchronous and
 * never throws) that keeps the last RECENT decisions, counts hits and monitor-mode would-denies
 * per policy, and hands each decision to the live feed. Counts are this process's since it
 * started (the audit trail in the store holds the history; `report` reads that).
 */
import type { CheckResult } from '../pipeline/result.js';
import type { DecisionSink } from '../pipeline/sinks.js';

const RECENT = 200;

export interface DecisionEvent {
  readonly time: string;
  readonly action_id: string;
  readonly adapter: string;
  readonly agent_id: string | null;
  readonly action_type: string | null;
  readonly resource: string | null;
  readonly decision: string;
  readonly code: string;
  readonly policy_id: string | null;
  readonly risk_score: number;
  readonly reason: string;
  readonly monitor: { policy_id: string | null; would_be: string } | null;
  readonly cache_hit: boolean;
}

export interface PolicyCounts {
  hits: number;
  allowed: number;
  denied: number;
  pending: number;
  /** Decisions a monitor-mode policy would have denied (or held) had it been enforced. */
  monitor_would_deny: number;
}

export class ConsoleDecisions implements DecisionSink {
  private readonly recent: DecisionEvent[] = [];
  private readonly counts = new Map<string, PolicyCounts>();
  private readonly listeners = new Set<(e: DecisionEvent) => void>();
  readonly since: number;

  constructor(private readonly now: () => number) {
    this.since = now();
  }

  record(r: CheckResult): void {
    const d = r.decision;
    const e: DecisionEvent = {
      time: new Date(this.now()).toISOString(), action_id: r.actionId, adapter: r.adapter, agent_id: r.action?.agent_id ?? null,
      action_type: r.action?.action_type ?? null, resource: r.action?.resource ?? null, decision: d.decision, code: d.code,
      policy_id: d.policyId, risk_score: d.riskScore, reason: d.reason,
      monitor: d.monitor ? { policy_id: d.monitor.policyId, would_be: d.monitor.wouldBe } : null, cache_hit: r.cacheHit,
    };
    this.recent.push(e);
    if (this.recent.length > RECENT) this.recent.shift();
    if (d.policyId !== null) {
      const c = this.countsOf(d.policyId);
      c.hits++;
      c[d.decision]++;
    }
    if (d.monitor && d.monitor.wouldBe !== 'allowed' && d.monitor.policyId !== null) this.countsOf(d.monitor.policyId).monitor_would_deny++;
    for (const l of this.listeners) {
      try { l(e); } catch { /* a listener never breaks the pipeline */ }
    }
  }

  /** Newest last. */
  latest(): readonly DecisionEvent[] {
    return this.recent;
  }

  policy(id: string): PolicyCounts {
    return this.counts.get(id) ?? { hits: 0, allowed: 0, denied: 0, pending: 0, monitor_would_deny: 0 };
  }

  subscribe(listener: (e: DecisionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private countsOf(id: string): PolicyCounts {
    let c = this.counts.get(id);
    if (!c) this.counts.set(id, (c = { hits: 0, allowed: 0, denied: 0, pending: 0, monitor_would_deny: 0 }));
    return c;
  }
}
