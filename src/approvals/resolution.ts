/** What the gateway pipeline gets back from ApprovalService.requestApproval. */
import type { ActionBinding, ApprovalRecord, GrantKind } from './store/records.js';
import type { PendingLimitName } from './store/store.js';
import { currentApprovers, type WorkflowDefinition } from './workflow.js';

/** A `require_approval` decision, as the pipeline hands it over. */
export interface ApprovalRequest {
  readonly agent_id: string;
  readonly action_type: string;
  readonly resource: string;
  readonly parameters?: Record<string, unknown>;
  readonly context?: Record<string, unknown>;
  /** What the grant is bound to (policy digest, workflow, values read); part of the fingerprint. */
  readonly binding?: ActionBinding;
  readonly policy_id?: string | null;
  readonly risk_score?: number | null;
  /** The policy's reason for requiring approval. */
  readonly reason?: string | null;
  /** From resolveWorkflow(policy, workflows, default_timeout_hours), resolved at config load. */
  readonly workflow: WorkflowDefinition;
  /** The id the pipeline already gave this decision; used only if a new action is created. */
  readonly action_id?: string;
  /** Override the default fingerprintAction() (e.g. a gateway-specific idempotency key). */
  readonly fingerprint?: string;
  /** The API key the action was submitted under (separation of duties); null for gateways. */
  readonly requested_by?: string | null;
}

export interface Ids {
  /** Use these in responses and headers (x-ascend-action-id, x-ascend-approval-id): on a retry
   * they are the ids of the original request, not of the retry. */
  readonly action_id: string;
  readonly approval_id: string;
  readonly reason: string;
}

export type ApprovalResolution =
  | (Ids & {
      readonly decision: 'pending';
      /** false: a retry of an action already waiting (no new approval, no new webhook). */
      readonly created: boolean;
      readonly deadline_at: number | null;
      readonly approval: ApprovalRecord;
    })
  | (Ids & { readonly decision: 'allowed'; readonly grant: GrantKind; readonly grant_expires_at: number | null; readonly approval: ApprovalRecord })
  | (Ids & { readonly decision: 'denied'; readonly approval: ApprovalRecord })
  | {
      /** No approval was created: the agent or the store is at its cap of pending approvals. */
      readonly decision: 'too_many_pending';
      /** The action id the request would have had (there is no approval id). */
      readonly action_id: string;
      readonly reason: string;
      readonly limit: PendingLimitName;
    };

export const resolution = {
  pending(a: ApprovalRecord, created: boolean): ApprovalResolution {
    const groups = currentApprovers(a.workflow, a).join(', ');
    const phase = a.escalated ? 'escalated' : `step ${a.current_step + 1} of ${a.workflow.steps.length}`;
    return {
      decision: 'pending', action_id: a.action_id, approval_id: a.approval_id, created,
      reason: `awaiting approval (${phase}: ${groups})`, deadline_at: a.deadline_at, approval: a,
    };
  },
  allowed(a: ApprovalRecord): ApprovalResolution {
    return {
      decision: 'allowed', action_id: a.action_id, approval_id: a.approval_id, reason: a.reason ?? approvedBy(a),
      grant: a.grant, grant_expires_at: a.grant_expires_at, approval: a,
    };
  },
  denied(a: ApprovalRecord): ApprovalResolution {
    return { decision: 'denied', action_id: a.action_id, approval_id: a.approval_id, reason: a.reason ?? 'denied', approval: a };
  },
  tooManyPending(actionId: string, agentId: string, limit: PendingLimitName, max: number): ApprovalResolution {
    const who = limit === 'per_agent' ? (agentId === '' ? 'agents without an identity have' : `agent ${agentId} has`) : 'the store has';
    const setting = limit === 'per_agent' ? 'max_pending_per_agent' : 'max_pending_total';
    return {
      decision: 'too_many_pending', action_id: actionId, limit,
      reason: `too many pending approvals: ${who} ${max} (approvals.${setting}); retry when some are decided`,
    };
  },
};

function approvedBy(a: ApprovalRecord): string {
  const names = a.votes.filter((v) => v.vote === 'approve').map((v) => v.approver);
  return names.length ? `approved by ${names.join(', ')}` : 'approved';
}
