/**
 * Records the durable store holds. Backend-neutral: plain JSON-able objects, times in ms since the
 * epoch (the API layer renders them as ISO strings), ids as opaque strings.
 */
import type { ActionBinding } from '../../evaluator/binding.js';
import type { NotificationFormat } from '../../events/types.js';
import type { CastVote, WorkflowDefinition, WorkflowState } from '../workflow.js';

export type { ActionBinding } from '../../evaluator/binding.js';

export type ActionStatus = 'pending' | 'approved' | 'denied' | 'completed' | 'expired';
export type Decision = 'allowed' | 'denied' | 'pending';
export type GrantKind = 'single_use' | 'ttl';

/** One evaluated agent action (every approval has one; API-evaluated actions may be stored too). */
export interface ActionRecord {
  readonly action_id: string;
  /** Identity of "the same action" for retry dedupe; see fingerprintAction(). */
  readonly fingerprint: string;
  readonly agent_id: string;
  readonly action_type: string;
  readonly resource: string;
  readonly parameters: Record<string, unknown>;
  readonly context: Record<string, unknown>;
  /** What the decision was bound to; shown to approvers (views, webhooks). */
  readonly binding: ActionBinding;
  readonly decision: Decision;
  readonly policy_id: string | null;
  readonly risk_score: number | null;
  readonly reason: string | null;
  readonly approval_id: string | null;
  readonly status: ActionStatus;
  readonly created_at: number;
  readonly updated_at: number;
  /** Outcome the agent reported through /complete (free-form, e.g. success|failure). */
  readonly completion_status: string | null;
  readonly completion_result: unknown;
  readonly completed_at: number | null;
  /** The API key (its name) the action was submitted under; null for gateway requests. */
  readonly requested_by: string | null;
}

export type VoteRecord = CastVote;

/** An approval: the workflow snapshot taken at creation plus its live state. */
export interface ApprovalRecord extends WorkflowState {
  readonly approval_id: string;
  readonly action_id: string;
  readonly fingerprint: string;
  /** Snapshot, so a config reload never changes the rules of an approval already under way. */
  readonly workflow: WorkflowDefinition;
  readonly requested_at: number;
  readonly grant: GrantKind;
  /** How long an approved grant stays usable (single_use: to be used once; ttl: reusable). */
  readonly grant_ttl_seconds: number;
  readonly grant_expires_at: number | null;
  readonly grant_used_at: number | null;
  /** Optimistic-concurrency version, bumped by every transition. */
  readonly version: number;
}

/** The audit trail's kinds of row: decisions, and the events recorded beside them. */
export const AUDIT_EVENT_TYPES = ['decision', 'agent.blocked', 'agent.unblocked'] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/**
 * One row of the audit trail: a decision of the gateway pipeline (event_type 'decision'), or an
 * event beside them such as an agent blocked by the kill switch. An event fills the decision
 * columns with what it means for the agent's requests (agent.blocked: decision denied).
 */
export interface AuditRecord {
  readonly event_type: AuditEventType;
  readonly ts: number;
  readonly action_id: string;
  readonly request_id: string | null;
  /** envoy | kong | forward_auth | api … (the adapter label of the metrics). */
  readonly adapter: string;
  readonly agent_id: string;
  readonly action_type: string;
  readonly resource: string;
  readonly decision: Decision;
  readonly policy_id: string | null;
  readonly risk_score: number | null;
  readonly cache_hit: boolean;
  readonly latency_us: number;
  readonly reason: string | null;
  /** Who caused an event (an API key's name); null for decisions (agent_id says who asked). */
  readonly actor: string | null;
  /** What an event carried (command id, reason …); null for decisions. */
  readonly details: Record<string, unknown> | null;
}

/** An audit row as read back, with its store-assigned sequence id. */
export interface StoredAuditRecord extends AuditRecord {
  readonly id: number;
}

export type OutboxState = 'pending' | 'delivered' | 'dead';

/** A webhook delivery to enqueue: one row per (event, subscription). */
export interface NewOutboxEntry {
  /** Event id (x-event-id); the same for every subscription the event fans out to. */
  readonly event_id: string;
  readonly event: string;
  /** The exact body bytes to send (JSON text), fixed at enqueue so every retry signs the same body. */
  readonly payload: string;
  readonly url: string;
  readonly created_at: number;
  /** The action the event is about (its `data.action_id`), so an action's page can list its deliveries; null for other events. */
  readonly action_id: string | null;
}

export interface OutboxRow extends NewOutboxEntry {
  readonly id: number;
  readonly attempts: number;
  readonly next_attempt_at: number;
  readonly state: OutboxState;
  readonly last_error: string | null;
  readonly delivered_at: number | null;
}

/**
 * A webhook subscription made through the REST API (subscriptions from the config file are not
 * stored). The id is store-assigned (`wh_<n>`, never reused); the url is unique among them.
 */
export interface WebhookRecord {
  readonly webhook_id: string;
  readonly url: string;
  /** As the caller named them (the SDK's names or the sidecar's); mapped when delivering. */
  readonly events: readonly string[];
  /** HMAC key of the deliveries; API answers never show it after creation. */
  readonly secret: string;
  /** Only this agent's events (and events about no agent); null for all. */
  readonly agent_id: string | null;
  /** The body's shape (events/formats/): the signed envelope or a chat or ticket format. */
  readonly format: NotificationFormat;
  /** The API key that made it. */
  readonly created_by: string;
  readonly created_at: number;
  readonly updated_at: number;
}

export type NewWebhook = Omit<WebhookRecord, 'webhook_id' | 'updated_at'>;

/** The fields an update may change; absent ones are kept. */
export interface WebhookChange {
  readonly url?: string;
  readonly events?: readonly string[];
  readonly secret?: string;
  readonly format?: NotificationFormat;
}

/** A page of results; `next_cursor` is opaque and absent on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly next_cursor?: string;
}

export interface PageQuery {
  readonly limit: number;
  readonly cursor?: string;
}
