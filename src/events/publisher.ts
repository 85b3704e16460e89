/**
 * Turns an event into outbox rows: one per subscription that wants it, all sharing one event id
 * and one serialized body per notification format (formats/). Callers that change state pass the rows to the store method making
 * the change (same transaction); events with no state change behind them use `publish`.
 */
import { randomUUID } from 'node:crypto';
import type { NewOutboxEntry } from '../approvals/store/records.js';
import type { OutboxStore } from '../approvals/store/store.js';
import { systemClock, type Clock } from '../shared/runtime.js';
import { renderPayload, type NotificationFormat } from './formats/index.js';
import { subscribes, TEST_EVENT, type EventType, type WebhookEnvelope, type WebhookSubscription } from './types.js';

export interface PublisherDeps {
  /** Current subscriptions (a function, so a config reload takes effect at once). */
  readonly subscriptions: () => readonly WebhookSubscription[];
  readonly now?: Clock;
  readonly newEventId?: () => string;
  /** Where `publish` enqueues. */
  readonly store?: Pick<OutboxStore, 'enqueueOutbox'>;
  /** Told after rows were enqueued, so the delivery worker starts now instead of at its next poll. */
  readonly onEnqueued?: () => void;
  /** `api.public_url`, read per event: chat and ticket formats link to the console's action page under it. */
  readonly publicUrl?: () => string | undefined;
}

export class EventPublisher {
  private readonly now: Clock;
  private readonly newEventId: () => string;

  constructor(private readonly deps: PublisherDeps) {
    this.now = deps.now ?? systemClock;
    this.newEventId = deps.newEventId ?? (() => `evt_${randomUUID()}`);
  }

  /** Outbox rows for one event; empty when no subscription wants it. */
  entries(event: EventType, data: Record<string, unknown>): NewOutboxEntry[] {
    const formats = new Map<string, NotificationFormat>();
    for (const sub of this.deps.subscriptions()) if (subscribes(sub, event, data)) formats.set(sub.url, sub.format ?? 'ascend');
    if (formats.size === 0) return [];
    const { envelope, created_at } = this.make(event, data);
    // One body per format, shared by every subscription in it.
    const bodies = new Map<NotificationFormat, string>();
    const body = (f: NotificationFormat): string => {
      let b = bodies.get(f);
      if (b === undefined) bodies.set(f, (b = renderPayload(f, envelope, this.deps.publicUrl?.())));
      return b;
    };
    const action_id = typeof data.action_id === 'string' ? data.action_id : null;
    return [...formats].map(([url, f]) => ({ event_id: envelope.id, event, payload: body(f), url, created_at, action_id }));
  }

  /** A new event's id and serialized body in `format` (what the outbox stores and every attempt signs). */
  envelope(event: EventType | typeof TEST_EVENT, data: Record<string, unknown>, format: NotificationFormat = 'ascend'): { id: string; payload: string; created_at: number } {
    const { envelope, created_at } = this.make(event, data);
    return { id: envelope.id, payload: renderPayload(format, envelope, this.deps.publicUrl?.()), created_at };
  }

  private make(event: EventType | typeof TEST_EVENT, data: Record<string, unknown>): { envelope: WebhookEnvelope; created_at: number } {
    const now = this.now();
    return { envelope: { id: this.newEventId(), event, created_at: new Date(now).toISOString(), data }, created_at: now };
  }

  /** Enqueue an event that no store transaction carries (alert.triggered, policy.reloaded). */
  async publish(event: EventType, data: Record<string, unknown>): Promise<number> {
    if (!this.deps.store) throw new Error('EventPublisher.publish needs deps.store');
    const rows = this.entries(event, data);
    if (rows.length === 0) return 0;
    await this.deps.store.enqueueOutbox(rows);
    this.enqueued();
    return rows.length;
  }

  /** Call after a store transaction that carried rows from `entries` committed. */
  enqueued(): void {
    this.deps.onEnqueued?.();
  }
}
