/**
 * The pending path: a `require_approval` decision asks the approvals layer whether this action
 * (same agent, type, resource, parameters) is already waiting, approved or denied, and the answer
 * becomes the decision and the ids the gateway returns. Only this path awaits anything.
 */
import type { ApprovalResolution, ApprovalService } from '../approvals/service.js';
import type { WorkflowDefinition } from '../approvals/workflow.js';
import type { ActionRequest } from '../core/action.js';
import type { Decision } from '../core/decision.js';

/** The ids a result carries: a retry answers with those of the original request. */
export interface ResultIds {
  readonly actionId: string;
  readonly approvalId: string | undefined;
}

export interface ApprovalOutcome {
  readonly decision: Decision;
  readonly ids: ResultIds;
}

export type ApprovalGate = (
  action: ActionRequest, decision: Decision, workflow: WorkflowDefinition, actionId: string,
) => Promise<ApprovalOutcome>;

/**
 * The API key an action was submitted under: the REST API puts its name in
 * `context.gateway.api_key`, which clients cannot set (the sidecar overwrites `context.gateway`
 * for every entry point). Null for gateway requests.
 */
export function requesterOf(action: Pick<ActionRequest, 'context'>): string | null {
  const g = action.context.gateway;
  const key = g !== null && typeof g === 'object' ? (g as Record<string, unknown>).api_key : undefined;
  return typeof key === 'string' ? key : null;
}

/** Resolution → Decision. Neither outcome is cached (the engine's decision was pending). */
export function decisionFor(d: Decision, r: ApprovalResolution, deniedStatus: number): Decision {
  switch (r.decision) {
    case 'pending':
      return { ...d, reason: `${d.reason}; ${r.reason}` };
    case 'allowed':
      return { ...d, decision: 'allowed', code: 'approval_granted', reason: r.reason, approvers: undefined, workflow: undefined, httpStatus: 200 };
    case 'denied':
      return { ...d, decision: 'denied', code: 'approval_denied', reason: r.reason, approvers: undefined, workflow: undefined, httpStatus: deniedStatus };
  }
}

/** The gate over an ApprovalService; `deniedStatus` is read per call so reloads apply. */
export function approvalGate(service: Pick<ApprovalService, 'requestApproval'>, deniedStatus: () => number): ApprovalGate {
  return async (action, decision, workflow, actionId) => {
    const r = await service.requestApproval({
      agent_id: action.agent_id ?? '',
      action_type: action.action_type,
      resource: action.resource,
      parameters: action.parameters,
      context: action.context,
      policy_id: decision.policyId,
      risk_score: decision.riskScore,
      reason: decision.reason,
      workflow,
      action_id: actionId,
      requested_by: requesterOf(action),
    });
    return { decision: decisionFor(decision, r, deniedStatus()), ids: { actionId: r.action_id, approvalId: r.approval_id } };
  };
}
