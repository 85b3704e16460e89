/** Store records and check results → the API's JSON (times as ISO 8601, '' agents as null). */
import { approvalEventData } from '../approvals/event-data.js';
import type { ActionRecord, ApprovalRecord, OutboxRow, StoredAuditRecord } from '../approvals/store/records.js';
import type { WebhookSubscription } from '../events/types.js';
import { maskUrl, maskUrlIn } from '../observability/redact.js';
import type { CheckResult } from '../pipeline/result.js';
import { approvalStatusUrl } from './paths.js';
import { configWebhookId } from './webhooks.js';
import { currentDecision, sdkDecision } from './sdk-views.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const agent = (id: string | null): string | null => (id === '' ? null : id);

/** A decision just taken, in the seed API's fields and the SDK's AuthorizationDecision alike. */
export function decisionView(r: CheckResult): Record<string, unknown> {
  const d = r.decision;
  const v = sdkDecision({
    actionId: r.actionId, decision: d.decision, initialDecision: d.decision, riskScore: d.riskScore, reason: d.reason,
    policyId: d.policyId, code: d.code, approvalId: r.approvalId, statusUrl: r.statusUrl, approvers: d.approvers, approval: r.approval,
    review: r.review,
  });
  if (r.approvalId === undefined) delete v.approval_id; // approval_request_id stays, null (the SDK reads it)
  if (r.retryAfterSeconds !== undefined) v.retry_after = r.retryAfterSeconds;
  return v;
}

export function approvalView(action: ActionRecord, approval: ApprovalRecord, publicUrl: string | undefined): Record<string, unknown> {
  const data = approvalEventData(action, approval);
  return { ...data, agent_id: agent(action.agent_id), status_url: approvalStatusUrl(publicUrl, approval.approval_id) };
}

/**
 * An action as it stands now: `decision` is current (allowed once approved, denied once denied
 * or expired), `initial_decision` the first answer, with the SDK's AuthorizationDecision fields.
 */
export function actionView(a: ActionRecord, approval: ApprovalRecord | undefined, publicUrl: string | undefined): Record<string, unknown> {
  const decided = approval !== undefined && approval.state !== 'pending';
  return {
    ...sdkDecision({
      actionId: a.action_id, decision: currentDecision(a), initialDecision: a.decision, riskScore: a.risk_score,
      reason: decided ? approval.reason ?? a.reason : a.reason, policyId: a.policy_id, approval,
      approvalId: a.approval_id ?? undefined, statusUrl: a.approval_id === null ? undefined : approvalStatusUrl(publicUrl, a.approval_id),
    }),
    agent_id: agent(a.agent_id), action_type: a.action_type, resource: a.resource,
    parameters: a.parameters, context: a.context, binding: a.binding, status: a.status,
    created_at: iso(a.created_at), updated_at: iso(a.updated_at),
    completion: a.completion_status === null ? null
      : { status: a.completion_status, result: a.completion_result, completed_at: iso(a.completed_at) },
    ...(approval ? { approval: approvalView(a, approval, publicUrl) } : {}),
  };
}

/**
 * An action the store only knows from its audit row (a gateway decision that needed no
 * approval): what was decided, without parameters or context. Allowed reads as `approved`, as
 * for actions evaluated through the API.
 */
export function auditActionView(r: StoredAuditRecord): Record<string, unknown> {
  const at = iso(r.ts);
  return {
    ...sdkDecision({ actionId: r.action_id, decision: r.decision, initialDecision: r.decision, riskScore: r.risk_score, reason: r.reason, policyId: r.policy_id }),
    agent_id: agent(r.agent_id), action_type: r.action_type, resource: r.resource,
    status: r.decision === 'allowed' ? 'approved' : r.decision, approval_id: null, created_at: at, updated_at: at, completion: null,
    adapter: r.adapter, source: 'audit',
  };
}

export function auditView(r: StoredAuditRecord): Record<string, unknown> {
  const { ts, ...rest } = r;
  return { ...rest, time: iso(ts), agent_id: agent(r.agent_id) };
}

/**
 * A dead delivery as the API shows it, to every role: the URL masked (it is often a secret, like
 * the config's other secrets never shown), with the subscription it belongs to by its index in
 * the current `webhooks` (null once it is no longer configured).
 */
export function deadLetterView(r: OutboxRow, webhooks: readonly { url: string }[]): Record<string, unknown> {
  const index = webhooks.findIndex((w) => w.url === r.url);
  return {
    id: r.id, event_id: r.event_id, event: r.event, url: maskUrl(r.url), subscription_index: index < 0 ? null : index,
    attempts: r.attempts, last_error: r.last_error === null ? null : maskUrlIn(r.last_error, r.url), created_at: iso(r.created_at),
  };
}

/**
 * One delivery of an event about an action: the subscription it went to (its id, and its url
 * masked as everywhere else: the url is often a secret), its state and attempts. `webhook_id` is
 * null once the subscription is gone.
 */
export function deliveryView(r: OutboxRow, subs: readonly WebhookSubscription[]): Record<string, unknown> {
  const sub = subs.find((w) => w.url === r.url);
  return {
    id: r.id, event_id: r.event_id, event: r.event,
    webhook_id: sub ? sub.id ?? configWebhookId(sub.url) : null, format: sub?.format ?? null, url: maskUrl(r.url),
    state: r.state, attempts: r.attempts, last_error: r.last_error === null ? null : maskUrlIn(r.last_error, r.url),
    created_at: iso(r.created_at), delivered_at: iso(r.delivered_at), next_attempt_at: r.state === 'pending' ? iso(r.next_attempt_at) : null,
  };
}
