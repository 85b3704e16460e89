/**
 * Alert rules over the stream of decisions, emitted as `alert.triggered` webhooks:
 * - `risk_threshold`: a decision for an agent scored at or above `alerts.risk_threshold`;
 * - `repeated_denials`: `count` denials for one agent within `window_seconds`.
 * Each rule fires at most once per agent per `cooldown_seconds`. State is per agent and bounded
 * by `max_agents` (the least recently seen agent is forgotten first), so a flood of made-up
 * agent ids cannot grow memory. A sink: `record` is synchronous and cheap for the common case
 * (an allowed decision under the threshold costs two comparisons).
 */
import type { AlertsConfig } from '../config/schema.js';
import type { CheckResult } from '../pipeline/result.js';
import type { DecisionSink } from '../pipeline/sinks.js';
import type { Clock, Logger } from '../shared/runtime.js';

export type AlertRule = 'risk_threshold' | 'repeated_denials';

interface AgentState {
  /** Times of recent denials, oldest first (at most `count`). */
  denials: number[];
  lastAlert: Partial<Record<AlertRule, number>>;
}

export interface AlertDeps {
  readonly publish: (data: Record<string, unknown>) => Promise<unknown>;
  /** Read per decision, so a reload applies at once. */
  readonly config: () => AlertsConfig;
  readonly now: Clock;
  readonly log: Logger;
}

export class AlertDetector implements DecisionSink {
  private readonly agents = new Map<string, AgentState>();

  constructor(private readonly deps: AlertDeps) {}

  /** Agents currently tracked (bounded by max_agents). */
  get tracked(): number {
    return this.agents.size;
  }

  record(r: CheckResult): void {
    const agent = r.action?.agent_id;
    if (!agent) return;
    const c = this.deps.config();
    const d = r.decision;
    const risky = c.risk_threshold !== undefined && d.riskScore >= c.risk_threshold;
    const denied = c.repeated_denials !== undefined && d.decision === 'denied';
    if (!risky && !denied) return;
    const now = this.deps.now();
    const s = this.touch(agent, c.max_agents);
    if (risky) this.fire(s, 'risk_threshold', r, c, now, { threshold: c.risk_threshold });
    if (denied && c.repeated_denials) {
      const { count, window_seconds } = c.repeated_denials;
      s.denials = s.denials.filter((t) => t > now - window_seconds * 1000);
      s.denials.push(now);
      if (s.denials.length > count) s.denials.shift();
      if (s.denials.length >= count) this.fire(s, 'repeated_denials', r, c, now, { count, window_seconds });
    }
  }

  private touch(agent: string, max: number): AgentState {
    let s = this.agents.get(agent);
    if (s) this.agents.delete(agent); // re-insert: Map order is our recency order
    else s = { denials: [], lastAlert: {} };
    this.agents.set(agent, s);
    while (this.agents.size > max) this.agents.delete(this.agents.keys().next().value as string);
    return s;
  }

  private fire(s: AgentState, rule: AlertRule, r: CheckResult, c: AlertsConfig, now: number, extra: Record<string, unknown>): void {
    const last = s.lastAlert[rule];
    if (last !== undefined && now - last < c.cooldown_seconds * 1000) return;
    s.lastAlert[rule] = now;
    const d = r.decision;
    const a = r.action;
    const data = {
      rule, agent_id: a?.agent_id ?? null, action_id: r.actionId, action_type: a?.action_type, resource: a?.resource,
      decision: d.decision, policy_id: d.policyId, risk_score: d.riskScore, adapter: r.adapter, ...extra,
      at: new Date(now).toISOString(),
    };
    this.deps.publish(data).catch((err: unknown) => this.deps.log.error({ err, rule }, 'alert could not be queued'));
  }
}
