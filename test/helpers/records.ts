/** Record builders for store tests: valid defaults, override what the test is about. */
import { startWorkflow, singleStepWorkflow, type WorkflowDefinition } from '../../src/approvals/workflow.js';
import type {
  ActionRecord, ApprovalRecord, AuditRecord, NewOutboxEntry,
} from '../../src/approvals/store/records.js';
import type { NewPendingApproval, PendingLimits } from '../../src/approvals/store/store.js';

let seq = 0;
const next = () => `${process.pid}-${++seq}`;

export function pendingApproval(opts: {
  fingerprint?: string; now?: number; workflow?: WorkflowDefinition; grant?: ApprovalRecord['grant'];
  grant_ttl_seconds?: number; outbox?: NewOutboxEntry[]; id?: string; agent_id?: string; limits?: PendingLimits;
} = {}): NewPendingApproval {
  const now = opts.now ?? 1_700_000_000_000;
  const id = opts.id ?? next();
  const fingerprint = opts.fingerprint ?? `fp-${id}`;
  const workflow = opts.workflow ?? singleStepWorkflow(['finance-manager'], 1);
  const action: ActionRecord = {
    action_id: `act_${id}`, fingerprint, agent_id: opts.agent_id ?? 'billing-agent', action_type: 'payment.create',
    resource: 'stripe:charges', parameters: { amount: 5000 }, context: { environment: 'prod' },
    binding: { policy_digest: 'digest-big-payments', workflow: null, values: { 'context.environment': 'prod', 'risk.score': 72 } },
    decision: 'pending', policy_id: 'big-payments', risk_score: 72, reason: 'amount over 1000',
    approval_id: `apr_${id}`, status: 'pending', created_at: now, updated_at: now,
    completion_status: null, completion_result: null, completed_at: null, requested_by: null,
  };
  const approval: ApprovalRecord = {
    ...startWorkflow(workflow, now), approval_id: `apr_${id}`, action_id: action.action_id, fingerprint,
    workflow, requested_at: now, grant: opts.grant ?? 'single_use', grant_ttl_seconds: opts.grant_ttl_seconds ?? 600,
    grant_expires_at: null, grant_used_at: null, version: 1,
  };
  return { action, approval, outbox: opts.outbox ?? [], limits: opts.limits ?? { per_agent: 1_000_000, total: 1_000_000 } };
}

export function outboxEntry(over: Partial<NewOutboxEntry> = {}): NewOutboxEntry {
  const id = next();
  return {
    event_id: `evt_${id}`, event: 'action.pending', url: 'http://127.0.0.1:9/hooks',
    payload: JSON.stringify({ id: `evt_${id}`, event: 'action.pending', created_at: '2025-01-01T00:00:00.000Z', data: {} }),
    created_at: 1_700_000_000_000, action_id: null, ...over,
  };
}

export function auditRow(over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    ts: 1_700_000_000_000, action_id: `act_${next()}`, request_id: 'req-1', adapter: 'envoy',
    agent_id: 'billing-agent', action_type: 'payment.create', resource: 'stripe:charges', decision: 'allowed',
    policy_id: 'default', risk_score: 10, cache_hit: false, latency_us: 140, reason: null,
    event_type: 'decision', actor: null, details: null, ...over,
  };
}
