/**
 * The durable-state contract: approvals (with their actions and votes), the audit trail, the
 * webhook outbox, the webhook subscriptions made through the API, and the agent registry with
 * heartbeats and the kill switch (agent-store.ts), console sessions (session-store.ts). SQLite is the embedded implementation; a
 * shared store (PostgreSQL) for fleets implements the same interface.
 *
 * Every method returns a Promise even though SQLite answers synchronously: a shared store is a
 * network round trip, and an interface that is sync for one backend and async for another would
 * leak the backend into every caller. The hot path never awaits the store for an `allowed`
 * decision — audit rows go through the synchronous, in-memory AuditBuffer, which flushes in batches.
 *
 * Atomicity is part of the contract: each method is one transaction, and events caused by a state
 * change are enqueued in the same transaction as the change (transactional outbox), so a crash
 * can never leave a decided approval without its webhook, or a webhook for a change that was lost.
 * Read-modify-write of an approval is optimistic: read it, compute the next state with the pure
 * workflow, then `transitionApproval` with the version read; a `conflict` means re-read and retry.
 */
import type { WorkflowState } from '../workflow.js';
import type { AgentStore } from './agent-store.js';
import type { SessionStore } from './session-store.js';
import type { AbTestStore } from './ab-test-store.js';
import type {
  ActionRecord, ActionStatus, ApprovalRecord, AuditRecord, NewOutboxEntry, OutboxRow, Page,
  StoredAuditRecord, VoteRecord, WebhookChange, WebhookRecord, NewWebhook, PageQuery,
} from './records.js';

export type { PageQuery } from './records.js';

/** Caps on pending approvals (approvals.max_pending_per_agent / max_pending_total). */
export interface PendingLimits {
  /** Pending approvals whose action has this one's agent_id. */
  readonly per_agent: number;
  /** Pending approvals in the whole store. */
  readonly total: number;
}

export interface NewPendingApproval {
  /** status 'pending', decision 'pending', approval_id set to approval.approval_id. */
  readonly action: ActionRecord;
  /** state 'pending', version 1. */
  readonly approval: ApprovalRecord;
  /** action.pending deliveries, enqueued only if this call creates the approval. */
  readonly outbox: readonly NewOutboxEntry[];
  /** Checked in the same transaction as the insert, so concurrent callers can never overshoot. */
  readonly limits: PendingLimits;
}

export type PendingLimitName = keyof PendingLimits;

export type CreatePendingResult =
  | {
      /** false: a pending approval for the same fingerprint already existed and is returned instead. */
      readonly created: boolean;
      readonly action: ActionRecord;
      readonly approval: ApprovalRecord;
    }
  | {
      /** Nothing was written: the cap named by `limit` (of `max` pending approvals) was reached. */
      readonly created: false;
      readonly rejected: 'too_many_pending';
      readonly limit: PendingLimitName;
      readonly max: number;
    };

export interface ApprovalTransition {
  readonly approval_id: string;
  /** The version read; the write happens only if nobody changed the approval since. */
  readonly expected_version: number;
  /** The workflow fields after the transition (votes come only through `vote`). */
  readonly next: Omit<WorkflowState, 'votes'>;
  /** The ballot being recorded, if this transition is a vote. */
  readonly vote?: VoteRecord;
  /** Set when the approval becomes approved. */
  readonly grant_expires_at?: number | null;
  /** New status of the approval's action, when it changes. */
  readonly action_status?: ActionStatus;
  readonly outbox: readonly NewOutboxEntry[];
  readonly now: number;
}

export type TransitionResult =
  | { readonly ok: true; readonly approval: ApprovalRecord }
  | { readonly ok: false; readonly error: 'not_found' | 'conflict' };

export type GrantOutcome =
  | { readonly ok: true; readonly approval: ApprovalRecord }
  | { readonly ok: false; readonly reason: 'not_found' | 'not_approved' | 'used' | 'expired' };

/** What a retry finds for its fingerprint: the latest approval and, when it is approved, the use of its grant. */
export interface LatestApproval {
  /** The most recently requested approval for the fingerprint, as read (before the grant's use). */
  readonly latest?: ApprovalRecord;
  /** Only when `latest` is approved: what {@link ApprovalStore.consumeGrant} would answer. */
  readonly grant?: GrantOutcome;
}

export interface ActionCompletion {
  readonly action_id: string;
  readonly status: string;
  readonly result: unknown;
  readonly now: number;
  /** action.completed deliveries, enqueued only when this call completes the action. */
  readonly outbox: readonly NewOutboxEntry[];
}

export type CompleteResult =
  | { readonly ok: true; readonly action: ActionRecord; /** false when it was already completed */ readonly changed: boolean }
  | { readonly ok: false; readonly error: 'not_found' | 'invalid_state'; readonly action?: ActionRecord };


export interface AuditQuery extends PageQuery {
  /** Which kind of row: 'decision' when absent (so decision queries never see events), '*' for all. */
  readonly event_type?: AuditRecord['event_type'] | '*';
  readonly action_id?: string;
  readonly agent_id?: string;
  readonly decision?: AuditRecord['decision'];
  /** Inclusive lower bound on ts (ms). */
  readonly since?: number;
  /** Exclusive upper bound on ts (ms). */
  readonly until?: number;
  /** Rows to skip, newest first (the ASCEND SDK pages the audit log by offset); ignored with a cursor. */
  readonly offset?: number;
}

/** Actions by offset (the ASCEND SDK pages activity with limit/offset). */
export interface ActionListQuery {
  readonly limit: number;
  readonly offset: number;
  readonly agent_id?: string;
  readonly status?: ActionStatus;
}

export interface ApprovalStore {
  /**
   * Atomically: if a pending approval exists for the fingerprint return it (whatever the caps);
   * else, if the agent or the store is at its cap, reject; else insert both.
   */
  createPendingApproval(input: NewPendingApproval): Promise<CreatePendingResult>;
  findPendingApprovalByFingerprint(fingerprint: string): Promise<ApprovalRecord | undefined>;
  /** The most recently requested approval for the fingerprint, whatever its state. */
  findLatestApprovalByFingerprint(fingerprint: string): Promise<ApprovalRecord | undefined>;
  getApproval(approvalId: string): Promise<ApprovalRecord | undefined>;
  getAction(actionId: string): Promise<ActionRecord | undefined>;
  /** The stored actions among `actionIds` in one call (unknown ids left out), in no particular order. */
  getActions(actionIds: readonly string[]): Promise<ActionRecord[]>;
  /** Store an action decided without approval (e.g. evaluated through the REST API). */
  insertAction(action: ActionRecord): Promise<void>;
  /** Newest first, with the total that match. */
  listActions(query: ActionListQuery): Promise<{ items: ActionRecord[]; total: number }>;
  /** Newest first. */
  listApprovals(query: PageQuery & { readonly state?: ApprovalRecord['state'] }): Promise<Page<ApprovalRecord>>;
  countApprovals(state: ApprovalRecord['state']): Promise<number>;
  transitionApproval(t: ApprovalTransition): Promise<TransitionResult>;
  /** Pending approvals whose deadline is ≤ now, earliest first. */
  listDueApprovals(now: number, limit: number): Promise<ApprovalRecord[]>;
  /** Earliest deadline among pending approvals. */
  nextApprovalDeadline(): Promise<number | undefined>;
  /**
   * Use an approved grant: single_use succeeds once (atomically, so two racing retries cannot
   * both pass); ttl succeeds until grant_expires_at. An expired grant marks its action expired.
   */
  consumeGrant(approvalId: string, now: number): Promise<GrantOutcome>;
  /**
   * The retry's lookup in one call: the latest approval for the fingerprint and, if it is
   * approved, the use of its grant (consumeGrant's rules, as atomic).
   */
  useLatestApproval(fingerprint: string, now: number): Promise<LatestApproval>;
  completeAction(c: ActionCompletion): Promise<CompleteResult>;
}

export interface AuditStore {
  /** One transaction for the whole batch. */
  appendAudit(rows: readonly AuditRecord[]): Promise<void>;
  /** Newest first, paged by an opaque cursor. */
  queryAudit(query: AuditQuery): Promise<Page<StoredAuditRecord>>;
  /** How many rows match the query's filters (limit, cursor and offset aside). */
  countAudit(query: Omit<AuditQuery, 'limit' | 'cursor' | 'offset'>): Promise<number>;
  /** Delete rows with ts < before; returns how many. */
  purgeAudit(before: number): Promise<number>;
}

export interface OutboxStore {
  enqueueOutbox(entries: readonly NewOutboxEntry[]): Promise<void>;
  /**
   * Lease up to `limit` due pending rows: bumps `attempts` and pushes `next_attempt_at` to
   * now + leaseMs, so a worker that dies mid-delivery leaves the row to be claimed again after the
   * lease (at-least-once), and a row that keeps crashing its worker still runs out of attempts.
   */
  claimOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxRow[]>;
  markDelivered(id: number, now: number): Promise<void>;
  /** Back to pending with a new due time; ignored unless the row is still pending. */
  markFailed(id: number, error: string, nextAttemptAt: number): Promise<void>;
  markDead(id: number, error: string): Promise<void>;
  /** Rows still to deliver (state pending). */
  outboxDepth(): Promise<number>;
  /** Dead-lettered rows, newest first. */
  listDeadLetters(query: PageQuery): Promise<Page<OutboxRow>>;
  /** The deliveries of events about one action (rows enqueued with its action_id), oldest first. */
  listOutboxForAction(actionId: string, limit: number): Promise<OutboxRow[]>;
  /** Give a dead row a fresh set of attempts; false if it is not dead. */
  requeueDeadLetter(id: number, now: number): Promise<boolean>;
  /** Delete delivered rows created before `before`; returns how many. */
  purgeDeliveredOutbox(before: number): Promise<number>;
}

export type WebhookWrite =
  | { readonly ok: true; readonly webhook: WebhookRecord }
  | { readonly ok: false; readonly error: 'not_found' | 'url_taken' };

/** Webhook subscriptions made through the API; the delivery worker merges them with the config's. */
export interface WebhookStore {
  /** Assigns the id; `url_taken` when another stored subscription has the url. */
  createWebhook(webhook: NewWebhook): Promise<WebhookWrite>;
  /** Oldest first. */
  listWebhooks(): Promise<WebhookRecord[]>;
  getWebhook(webhookId: string): Promise<WebhookRecord | undefined>;
  updateWebhook(webhookId: string, change: WebhookChange, now: number): Promise<WebhookWrite>;
  /** false if there was no such subscription. */
  deleteWebhook(webhookId: string): Promise<boolean>;
}

/** The whole durable state of one sidecar (or of a fleet, for a shared store). */
export interface Store extends ApprovalStore, AuditStore, OutboxStore, WebhookStore, AgentStore, SessionStore, AbTestStore {
  close(): Promise<void>;
}
