/**
 * Every decision into the durable audit trail (the approvals layer's AuditBuffer: a synchronous
 * push, flushed in batches off the hot path). `GET /api/audit` reads it back.
 */
import type { AuditRecord } from '../approvals/store/records.js';
import type { CheckResult } from '../pipeline/result.js';
import type { DecisionSink } from '../pipeline/sinks.js';
import type { Clock } from '../shared/runtime.js';

/**
 * What a decision row keeps beyond its columns: the orchestration an SDK submission named
 * (`context.orchestration`: session, parent action, depth), so a multi-agent run can be traced
 * in the trail; the A/B variants; and what monitor mode changed (`monitor`: the policy that would
 * have decided, what it would have decided, and whether the global `mode: monitor` or the
 * policy's own `mode: monitor` let the request through), so the executive brief can count
 * would-denies per policy. Null for everything else, which keeps rows small.
 */
function decisionDetails(r: CheckResult): Record<string, unknown> | null {
  const o = r.action?.context.orchestration;
  const details: Record<string, unknown> = {};
  if (o !== null && typeof o === 'object') details.orchestration = o;
  // The A/B tests the request was in, with its variant (README "A/B tests").
  if (r.ab !== undefined) details.ab = Object.fromEntries(r.ab.map((m) => [m.test.name, m.variant]));
  const m = r.decision.monitor;
  if (m !== undefined) details.monitor = { policy_id: m.policyId, would_be: m.wouldBe, mode: r.decision.code === 'monitor_allow' ? 'global' : 'policy' };
  return Object.keys(details).length === 0 ? null : details;
}

/** One audit row for a finished check; unidentified agents are stored as ''. */
export function auditRecord(r: CheckResult, ts: number): AuditRecord {
  const d = r.decision;
  const a = r.action;
  return {
    event_type: 'decision',
    ts,
    action_id: r.actionId,
    request_id: r.request?.requestId ?? null,
    adapter: r.adapter,
    agent_id: a?.agent_id ?? '',
    action_type: a?.action_type ?? '',
    resource: a?.resource ?? r.request?.path ?? '',
    decision: d.decision,
    policy_id: d.policyId,
    risk_score: d.riskScore,
    cache_hit: r.cacheHit,
    latency_us: Math.round(r.latencyUs),
    reason: d.reason,
    actor: null,
    details: decisionDetails(r),
  };
}

export function auditSink(buffer: { push(row: AuditRecord): void }, now: Clock): DecisionSink {
  return { record: (r) => buffer.push(auditRecord(r, now())) };
}
