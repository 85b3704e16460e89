/**
 * The ASCEND SDK's models, filled from the sidecar's one action model (docs/sdk.md).
 *
 * `AuthorizationDecision` (submit and status answers): the SDK reads `decision` before
 * anything else and polls until it is not `pending`, so `decision` is always the action's
 * **current** state in the SDK's words — `allowed` once approved, `denied` once denied, expired
 * or timed out — while the first answer stays visible as `initial_decision`.
 */
import type { ActionRecord, ApprovalRecord } from '../approvals/store/records.js';
import { currentApprovers } from '../approvals/workflow.js';
import type { ApprovalReview, DecisionKind } from '../core/decision.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

/** The SDK's four lower-case risk levels, from the 0–100 score. */
export function riskLevel(score: number | null): RiskLevel | null {
  if (score === null) return null;
  if (score >= 80) return 'critical';
  if (score >= 60) return 'high';
  if (score >= 30) return 'medium';
  return 'low';
}

/** allowed | denied | pending now: an action's status after approvals, grants and completion. */
export function currentDecision(a: ActionRecord): DecisionKind {
  switch (a.status) {
    case 'pending':
      return 'pending';
    case 'approved':
    case 'completed':
      return 'allowed';
    case 'denied':
    case 'expired':
      return 'denied';
  }
}

/** Who approved, when, and what the deciding approver said, as the SDK reads them. */
function reviewFields(approval: ApprovalRecord | undefined): Record<string, unknown> {
  if (approval === undefined || approval.state === 'pending') return {};
  const approvers = approval.votes.filter((v) => v.vote === 'approve').map((v) => v.approver);
  const deniers = approval.votes.filter((v) => v.vote === 'deny');
  const comment = deniers[0]?.comment ?? approval.votes.at(-1)?.comment ?? approval.reason;
  return approval.state === 'approved'
    ? { approved_by: approvers.join(', ') || null, approved_at: iso(approval.decided_at), comments: comment ?? null }
    : { rejected_by: deniers.map((v) => v.approver).join(', ') || null, comments: comment ?? null, decided_at: iso(approval.decided_at) };
}

/** reviewFields() as a control plane sent them (its expires_at goes in its own place). */
function remoteReviewFields(r: ApprovalReview): Record<string, unknown> {
  const { expires_at: _expires, ...fields } = r;
  return fields;
}

export interface SdkDecisionInput {
  readonly actionId: string;
  readonly decision: DecisionKind;
  readonly initialDecision: DecisionKind;
  readonly riskScore: number | null;
  readonly reason: string | null;
  readonly policyId: string | null;
  readonly code?: string | undefined;
  readonly approval?: ApprovalRecord | undefined;
  readonly approvalId?: string | undefined;
  readonly statusUrl?: string | undefined;
  /** Groups asked first, when no approval record is at hand (a fresh pending answer). */
  readonly approvers?: readonly string[] | undefined;
  /** A control plane's word on its approval (an edge has no record): used when `approval` is not given. */
  readonly review?: ApprovalReview | undefined;
}

/** The fields of the SDK's AuthorizationDecision, for submit and status answers alike. */
export function sdkDecision(i: SdkDecisionInput): Record<string, unknown> {
  const pending = i.decision === 'pending';
  const approval = i.approval;
  /** A control plane's word, where this sidecar has no approval record (an edge). */
  const remote = approval === undefined ? i.review : undefined;
  const approvalId = i.approvalId ?? approval?.approval_id;
  const held = i.decision !== 'allowed' && i.policyId !== null;
  return {
    action_id: i.actionId,
    decision: i.decision,
    initial_decision: i.initialDecision,
    execution_allowed: i.decision === 'allowed',
    risk_score: i.riskScore,
    risk_level: riskLevel(i.riskScore),
    reason: i.reason,
    policy_id: i.policyId,
    ...(i.code !== undefined ? { code: i.code } : {}),
    policy_violations: held ? [i.policyId] : [],
    conditions: [],
    approval_request_id: approvalId ?? null,
    approval_id: approvalId ?? null,
    ...(i.statusUrl !== undefined ? { status_url: i.statusUrl } : {}),
    required_approvers: !pending ? [] : approval ? [...currentApprovers(approval.workflow, approval)] : [...(i.approvers ?? [])],
    expires_at: remote !== undefined ? remote.expires_at ?? null
      : pending ? iso(approval?.deadline_at ?? null) : iso(approval?.grant_expires_at ?? null),
    ...(remote !== undefined ? remoteReviewFields(remote) : reviewFields(approval)),
    metadata: { policy_id: i.policyId, ...(i.code !== undefined ? { code: i.code } : {}) },
  };
}

/** The SDK's ActionDetails status vocabulary (any other value makes the SDK raise). */
export type SdkActionStatus = 'pending' | 'approved' | 'denied' | 'requires_modification' | 'timeout' | 'auto_approved' | 'escalated';

export function sdkActionStatus(a: ActionRecord, approval: ApprovalRecord | undefined): SdkActionStatus {
  switch (a.status) {
    case 'pending':
      return approval?.escalated ? 'escalated' : 'pending';
    case 'approved':
    case 'completed':
      return a.approval_id === null ? 'auto_approved' : 'approved';
    case 'denied':
      // Denied by its workflow's timeout (no approver said no), or by a person or a policy.
      return approval !== undefined && !approval.votes.some((v) => v.vote === 'deny') ? 'timeout' : 'denied';
    case 'expired':
      return 'timeout';
  }
}
