/** Webhook event vocabulary and subscription shape (issue 4, item 6). */

/** Notification formats per subscription (`webhooks[].format`), rendered by formats/. */
export const NOTIFICATION_FORMATS = ['ascend', 'slack', 'teams', 'servicenow'] as const;
export type NotificationFormat = (typeof NOTIFICATION_FORMATS)[number];

export const EVENT_TYPES = [
  'action.pending',
  'action.approved',
  'action.denied',
  'action.completed',
  'alert.triggered',
  'policy.reloaded',
  'agent.blocked',
  'agent.unblocked',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Sent only by `POST /api/webhooks/{id}/test`, to one subscription, outside the outbox. */
export const TEST_EVENT = 'webhook.test';

/**
 * One receiver. The url identifies the subscription (urls are unique across the config's and the
 * API's subscriptions): outbox rows name their url and the secret is looked up at delivery.
 */
export interface WebhookSubscription {
  readonly url: string;
  /** Events to receive; `*` receives all of them. */
  readonly events: readonly (EventType | '*')[];
  /** HMAC key; looked up at delivery time, so secrets never go into the outbox. */
  readonly secret: string;
  /** Made through the API: its id (`wh_…`). Config subscriptions have none. */
  readonly id?: string;
  /** Only events about this agent (and events about no agent). */
  readonly agent_id?: string;
  /** Made through the API: every delivery passes the SSRF guard (target-guard.ts). */
  readonly guarded?: boolean;
  /** The body's shape: the signed envelope (`ascend`, the default) or a chat or ticket format (formats/). */
  readonly format?: NotificationFormat;
}

/** The JSON body of every delivery. */
export interface WebhookEnvelope<D = Record<string, unknown>> {
  /**
   * Event id, the same on every retry: receivers dedupe on it (delivery is at-least-once). Also
   * sent as x-event-id, which the signature does not cover; this copy, in the body, it does.
   */
  readonly id: string;
  readonly event: EventType | typeof TEST_EVENT;
  /** ISO 8601 time the event happened. */
  readonly created_at: string;
  readonly data: D;
}

export function subscribes(sub: WebhookSubscription, event: EventType, data: Readonly<Record<string, unknown>> = {}): boolean {
  if (!sub.events.includes('*') && !sub.events.includes(event)) return false;
  return sub.agent_id === undefined || data.agent_id === undefined || data.agent_id === sub.agent_id;
}
