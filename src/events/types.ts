/** Webhook event vocabulary and subscription shape (issue 4, item 6). */

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

/** One configured receiver. The url identifies the subscription (config must keep urls unique). */
export interface WebhookSubscription {
  readonly url: string;
  /** Events to receive; `*` receives all of them. */
  readonly events: readonly (EventType | '*')[];
  /** HMAC key; looked up at delivery time, so secrets live only in config, never in the outbox. */
  readonly secret: string;
}

/** The JSON body of every delivery. */
export interface WebhookEnvelope<D = Record<string, unknown>> {
  /** Event id, also sent as x-event-id: receivers dedupe on it (delivery is at-least-once). */
  readonly id: string;
  readonly event: EventType;
  /** ISO 8601 time the event happened. */
  readonly created_at: string;
  readonly data: D;
}

export function subscribes(sub: WebhookSubscription, event: EventType): boolean {
  return sub.events.includes('*') || sub.events.includes(event);
}
