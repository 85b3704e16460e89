/**
 * The pending path: a `require_approval` decision asks the approvals layer whether this action
 * (same agent, type, resource, parameters, deciding policy and bound values) is already
 * waiting, approved or denied, and the answer becomes the decision and the ids the gateway
 * returns. Only this path awaits anything.
 */
import type { ApprovalResolution, ApprovalService } from '../approvals/service.js';
import type { ApprovalRecord } from '../approvals/store/records.js';
import type { WorkflowDefinition } from '../approvals/workflow.js';
import type { ActionRequest } from '../core/action.js';
import type { ApprovalReview, Decision } from '../core/decision.js';
import type { AgentDenialCode } from '../core/errors.js';
import type { ActionBinding } from '../evaluator/binding.js';

/** The ids a result carries: a retry answers with those of the original request. */
export interface ResultIds {
  readonly actionId: string;
  readonly approvalId: string | undefined;
  /** Where the approval lives when it is not here (a control plane's); this sidecar's URL otherwise. */
  readonly statusUrl?: string | undefined;
  /** Overrides the configured retry-after (a control plane's, or an open breaker's). */
  readonly retryAfterSeconds?: number | undefined;
  /** The approval that answered (this sidecar's): its deadline, grant and votes for the SDK's answer. */
  readonly approval?: ApprovalRecord | undefined;
  /** What a control plane said of the approval that answered (one that lives there). */
  readonly review?: ApprovalReview | undefined;
}

export interface ApprovalOutcome {
  readonly decision: Decision;
  readonly ids: ResultIds;
}

/** A pending decision as the gate receives it. */
export interface PendingAction {
  readonly action: ActionRequest;
  /** The engine's pending decision. */
  readonly decision: Decision;
  readonly workflow: WorkflowDefinition;
  /** What the approval's grant is bound to (runtime.bind). */
  readonly binding: ActionBinding;
  /** The id this check already has; used only if a new action is created. */
  readonly actionId: string;
}

export type ApprovalGate = (pending: PendingAction) => Promise<ApprovalOutcome>;

/**
 * Nobody can own an approval for a caller with no identity: every unidentified request would
 * share it. Such a decision is a denial (`identity_required`), never a pending approval.
 */
export function requireIdentity(d: Decision, action: ActionRequest | undefined, deniedStatus: number): Decision {
  if (d.decision !== 'pending' || (action !== undefined && action.agent_id !== null && action.agent_id !== '')) return d;
  return {
    ...d, decision: 'denied', code: 'identity_required', approvers: undefined, workflow: undefined, httpStatus: deniedStatus,
    reason: `${d.reason}; approval needs an identified agent and this request has none`,
  };
}

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

/** The code of a denial because the agent or the store holds too many pending approvals. */
export const TOO_MANY_PENDING = 'too_many_pending' satisfies AgentDenialCode;

/**
 * Resolution → Decision. None is cached (the engine's decision was pending). Too many pending
 * is a denial with its own code and HTTP 429 (RFC 6585: retry later, with retry-after): a
 * decision, not a store failure, so `fail_mode: open` never applies to it.
 */
export function decisionFor(d: Decision, r: ApprovalResolution, deniedStatus: number): Decision {
  switch (r.decision) {
    case 'too_many_pending':
      return { ...d, decision: 'denied', code: TOO_MANY_PENDING, reason: r.reason, approvers: undefined, workflow: undefined, httpStatus: 429 };
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
  return async ({ action, decision, workflow, binding, actionId }) => {
    const r = await service.requestApproval({
      agent_id: action.agent_id ?? '',
      action_type: action.action_type,
      resource: action.resource,
      parameters: action.parameters,
      context: action.context,
      binding,
      policy_id: decision.policyId,
      risk_score: decision.riskScore,
      reason: decision.reason,
      workflow,
      action_id: actionId,
      requested_by: requesterOf(action),
    });
    const approvalId = r.decision === 'too_many_pending' ? undefined : r.approval_id;
    const approval = r.decision === 'too_many_pending' ? undefined : r.approval;
    return { decision: decisionFor(decision, r, deniedStatus()), ids: { actionId: r.action_id, approvalId, approval } };
  };
}
