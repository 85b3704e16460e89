/** Row ↔ record mapping for both stores (SQLite and PostgreSQL): JSON columns, 0/1 booleans, NULLs. */
import type { WorkflowDefinition } from '../workflow.js';
import type {
  ActionRecord, ApprovalRecord, AuditRecord, OutboxRow, StoredAuditRecord, VoteRecord,
} from './records.js';

export type Row = Record<string, unknown>;

/** Column readers (also for agent-codec.ts and webhook-codec.ts). */
export const str = (v: unknown): string => v as string;
export const num = (v: unknown): number => v as number;
export const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
export const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : (v as number));
export const json = <T>(v: unknown): T => JSON.parse(v as string) as T;

export function actionToRow(a: ActionRecord): Row {
  return {
    ...a,
    parameters: JSON.stringify(a.parameters),
    context: JSON.stringify(a.context),
    binding: JSON.stringify(a.binding),
    completion_result: a.completion_result === undefined ? null : JSON.stringify(a.completion_result),
  };
}

export function rowToAction(r: Row): ActionRecord {
  return {
    action_id: str(r.action_id), fingerprint: str(r.fingerprint), agent_id: str(r.agent_id),
    action_type: str(r.action_type), resource: str(r.resource),
    parameters: json(r.parameters), context: json(r.context), binding: json(r.binding),
    decision: str(r.decision) as ActionRecord['decision'], policy_id: optStr(r.policy_id),
    risk_score: optNum(r.risk_score), reason: optStr(r.reason), approval_id: optStr(r.approval_id),
    status: str(r.status) as ActionRecord['status'], created_at: num(r.created_at), updated_at: num(r.updated_at),
    completion_status: optStr(r.completion_status),
    completion_result: r.completion_result === null ? null : json(r.completion_result),
    completed_at: optNum(r.completed_at), requested_by: optStr(r.requested_by),
  };
}

export function approvalToRow(a: ApprovalRecord): Row {
  return {
    approval_id: a.approval_id, action_id: a.action_id, fingerprint: a.fingerprint,
    workflow: JSON.stringify(a.workflow), current_step: a.current_step, escalated: a.escalated ? 1 : 0,
    state: a.state, requested_at: a.requested_at, decided_at: a.decided_at, deadline_at: a.deadline_at,
    reason: a.reason, grant_kind: a.grant, grant_ttl_seconds: a.grant_ttl_seconds,
    grant_expires_at: a.grant_expires_at, grant_used_at: a.grant_used_at, version: a.version,
  };
}

export function rowToApproval(r: Row, votes: VoteRecord[]): ApprovalRecord {
  return {
    approval_id: str(r.approval_id), action_id: str(r.action_id), fingerprint: str(r.fingerprint),
    workflow: json<WorkflowDefinition>(r.workflow), current_step: num(r.current_step),
    escalated: r.escalated === 1, state: str(r.state) as ApprovalRecord['state'],
    requested_at: num(r.requested_at), decided_at: optNum(r.decided_at), deadline_at: optNum(r.deadline_at),
    reason: optStr(r.reason), grant: str(r.grant_kind) as ApprovalRecord['grant'],
    grant_ttl_seconds: num(r.grant_ttl_seconds), grant_expires_at: optNum(r.grant_expires_at),
    grant_used_at: optNum(r.grant_used_at), version: num(r.version), votes,
  };
}

export function voteToRow(approvalId: string, v: VoteRecord): Row {
  return {
    approval_id: approvalId, step: v.step, escalated: v.escalated ? 1 : 0, approver: v.approver,
    groups: JSON.stringify(v.groups), vote: v.vote, comment: v.comment ?? null, at: v.at,
  };
}

export function rowToVote(r: Row): VoteRecord {
  return {
    approver: str(r.approver), groups: json<string[]>(r.groups), vote: str(r.vote) as VoteRecord['vote'],
    comment: optStr(r.comment), step: num(r.step), escalated: r.escalated === 1, at: num(r.at),
  };
}

export function auditToRow(a: AuditRecord): Row {
  return {
    ts: a.ts, action_id: a.action_id, request_id: a.request_id, adapter: a.adapter, agent_id: a.agent_id,
    action_type: a.action_type, resource: a.resource, decision: a.decision, policy_id: a.policy_id,
    risk_score: a.risk_score, cache_hit: a.cache_hit ? 1 : 0, latency_us: Math.round(a.latency_us), reason: a.reason,
    event_type: a.event_type, actor: a.actor, details: a.details === null ? null : JSON.stringify(a.details),
  };
}

export function rowToAudit(r: Row): StoredAuditRecord {
  return {
    id: num(r.id), ts: num(r.ts), action_id: str(r.action_id), request_id: optStr(r.request_id),
    adapter: str(r.adapter), agent_id: str(r.agent_id), action_type: str(r.action_type),
    resource: str(r.resource), decision: str(r.decision) as AuditRecord['decision'],
    policy_id: optStr(r.policy_id), risk_score: optNum(r.risk_score), cache_hit: r.cache_hit === 1,
    latency_us: num(r.latency_us), reason: optStr(r.reason),
    event_type: str(r.event_type) as AuditRecord['event_type'], actor: optStr(r.actor),
    details: r.details === null || r.details === undefined ? null : json(r.details),
  };
}

export function rowToOutbox(r: Row): OutboxRow {
  return {
    id: num(r.id), event_id: str(r.event_id), event: str(r.event), payload: str(r.payload), url: str(r.url),
    attempts: num(r.attempts), next_attempt_at: num(r.next_attempt_at), state: str(r.state) as OutboxRow['state'],
    last_error: optStr(r.last_error), created_at: num(r.created_at), delivered_at: optNum(r.delivered_at),
    action_id: optStr(r.action_id),
  };
}
