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

/**
 * What record() keeps of a decision: a few references, no formatting. Not the CheckResult
 * itself: it holds the request, body included, and 200 of those could pin megabytes. The ring's
 * slots are made once and written over (a slot per check was ~120 bytes of garbage a check).
 */
interface Kept {
  t: number;
  actionId: string;
  adapter: string;
  agentId: string | null;
  actionType: string | null;
  resource: string | null;
  /** Decisions are shared, immutable objects (memoized by the engine). */
  d: CheckResult['decision'];
  cacheHit: boolean;
}

export class ConsoleDecisions implements DecisionSink {
  /** A ring of the last RECENT results; `next` is where the next one goes. */
  private readonly ring: Array<Kept | undefined> = new Array(RECENT);
  private next = 0;
  private readonly counts = new Map<string, PolicyCounts>();
  private readonly listeners = new Set<(e: DecisionEvent) => void>();
  readonly since: number;

  constructor(private readonly now: () => number) {
    this.since = now();
  }

  /**
   * On every check: keep a reference and count. The event a page shows (an ISO time, a flat
   * object) is built only when someone reads it or a live feed is open — formatting it for every
   * check cost about 3 % of a cached Kong check's CPU (bench/README, optimizations log).
   */
  record(r: CheckResult): void {
    const d = r.decision;
    const a = r.action;
    let kept = this.ring[this.next];
    if (kept === undefined) {
      kept = {
        t: this.now(), actionId: r.actionId, adapter: r.adapter, agentId: a?.agent_id ?? null, actionType: a?.action_type ?? null,
        resource: a?.resource ?? null, d, cacheHit: r.cacheHit,
      };
      this.ring[this.next] = kept;
    } else {
      kept.t = this.now();
      kept.actionId = r.actionId;
      kept.adapter = r.adapter;
      kept.agentId = a?.agent_id ?? null;
      kept.actionType = a?.action_type ?? null;
      kept.resource = a?.resource ?? null;
      kept.d = d;
      kept.cacheHit = r.cacheHit;
    }
    this.next = this.next + 1 === RECENT ? 0 : this.next + 1;
    if (d.policyId !== null) {
      const c = this.countsOf(d.policyId);
      c.hits++;
      c[d.decision]++;
    }
    // A monitor-mode policy's would-denies (also where the deciding policy denied anyway), and
    // under top-level monitor mode the deciding policy's.
    const watched = d.monitorMatch;
    if (watched !== undefined) this.countsOf(watched).monitor_would_deny++;
    const m = d.monitor;
    if (m && m.wouldBe !== 'allowed' && m.policyId !== null && m.policyId !== watched) this.countsOf(m.policyId).monitor_would_deny++;
    if (this.listeners.size === 0) return;
    const e = eventOf(kept);
    for (const l of this.listeners) {
      try { l(e); } catch { /* a listener never breaks the pipeline */ }
    }
  }

  /** Newest last. */
  latest(): readonly DecisionEvent[] {
    const out: DecisionEvent[] = [];
    for (let i = 0; i < RECENT; i++) {
      const k = this.ring[(this.next + i) % RECENT];
      if (k !== undefined) out.push(eventOf(k));
    }
    return out;
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

function eventOf(k: Kept): DecisionEvent {
  const d = k.d;
  return {
    time: new Date(k.t).toISOString(), action_id: k.actionId, adapter: k.adapter, agent_id: k.agentId,
    action_type: k.actionType, resource: k.resource, decision: d.decision, code: d.code,
    policy_id: d.policyId, risk_score: d.riskScore, reason: d.reason,
    monitor: d.monitor ? { policy_id: d.monitor.policyId, would_be: d.monitor.wouldBe } : null, cache_hit: k.cacheHit,
  };
}
