/**
 * The `data` of approval webhooks: enough for an approver's tool to show what is asked and by whom
 * without calling back, and the ids to approve or deny it through the API.
 */
import type { ActionRecord, ApprovalRecord } from './store/records.js';
import { currentApprovers, requiredApprovals } from './workflow.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function approvalEventData(action: ActionRecord, approval: ApprovalRecord): Record<string, unknown> {
  const pending = approval.state === 'pending';
  return {
    action_id: action.action_id,
    approval_id: approval.approval_id,
    agent_id: action.agent_id,
    action_type: action.action_type,
    resource: action.resource,
    parameters: action.parameters,
    context: action.context,
    // Everything the approval is bound to: the approver approves exactly these values.
    binding: action.binding,
    policy_id: action.policy_id,
    risk_score: action.risk_score,
    status: approval.state,
    reason: pending ? action.reason : approval.reason,
    workflow: approval.workflow.name ?? null,
    step: approval.current_step + 1,
    steps: approval.workflow.steps.length,
    escalated: approval.escalated,
    approvers: pending ? currentApprovers(approval.workflow, approval) : [],
    required: pending ? requiredApprovals(approval.workflow, approval) : 0,
    requested_at: iso(approval.requested_at),
    deadline_at: iso(approval.deadline_at),
    decided_at: iso(approval.decided_at),
    grant: approval.state === 'approved' ? approval.grant : null,
    grant_expires_at: iso(approval.grant_expires_at),
    votes: approval.votes.map((v) => ({ approver: v.approver, vote: v.vote, comment: v.comment ?? null, step: v.step + 1, escalated: v.escalated, at: iso(v.at) })),
  };
}

export function completionEventData(action: ActionRecord): Record<string, unknown> {
  return {
    action_id: action.action_id,
    approval_id: action.approval_id,
    agent_id: action.agent_id,
    action_type: action.action_type,
    resource: action.resource,
    status: action.completion_status,
    result: action.completion_result,
    completed_at: iso(action.completed_at),
  };
}
