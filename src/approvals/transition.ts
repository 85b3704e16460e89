/**
 * From "the workflow moved from state A to state B" to the store write that records it: the new
 * fields, the vote, the action's status, the grant's expiry and the webhooks the move causes.
 * Pure; the events are built here so they commit in the same transaction as the change.
 */
import type { EventPublisher } from '../events/publisher.js';
import { approvalEventData } from './event-data.js';
import type { ActionRecord, ApprovalRecord } from './store/records.js';
import type { ApprovalTransition } from './store/store.js';
import type { CastVote, WorkflowState } from './workflow.js';

export interface PlannedTransition {
  readonly transition: ApprovalTransition;
  /** Set when this transition decides the approval. */
  readonly decided?: 'approved' | 'denied';
  /** True when a new deadline was set (a new step or an escalation): the scheduler must look again. */
  readonly deadlineChanged: boolean;
}

export function planTransition(
  before: ApprovalRecord, action: ActionRecord, next: WorkflowState, vote: CastVote | undefined,
  now: number, events: Pick<EventPublisher, 'entries'>,
): PlannedTransition {
  const { votes, ...fields } = next;
  const decided = next.state === 'pending' ? undefined : next.state;
  const grantExpiresAt = decided === 'approved' ? now + before.grant_ttl_seconds * 1000 : null;
  const after: ApprovalRecord = { ...before, ...next, votes, grant_expires_at: grantExpiresAt ?? before.grant_expires_at };
  const advanced = next.current_step !== before.current_step || next.escalated !== before.escalated;
  // A new step or an escalation re-announces action.pending: its approvers are new people to notify.
  const event = decided ? (`action.${decided}` as const) : advanced ? 'action.pending' : undefined;
  const actionAfter: ActionRecord = decided ? { ...action, status: decided, updated_at: now } : action;
  return {
    transition: {
      approval_id: before.approval_id,
      expected_version: before.version,
      next: fields,
      ...(vote ? { vote } : {}),
      grant_expires_at: grantExpiresAt,
      ...(decided ? { action_status: decided } : {}),
      outbox: event ? events.entries(event, approvalEventData(actionAfter, after)) : [],
      now,
    },
    ...(decided ? { decided } : {}),
    deadlineChanged: next.deadline_at !== null && next.deadline_at !== before.deadline_at,
  };
}
