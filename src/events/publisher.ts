/**
 * Turns an event into outbox rows: one per subscription that wants it, all sharing one event id
 * and one serialized body. Callers that change state pass the rows to the store method making
 * the change (same transaction); events with no state change behind them use `publish`.
 */
import { randomUUID } from 'node:crypto';
import type { NewOutboxEntry } from '../approvals/store/records.js';
import type { OutboxStore } from '../approvals/store/store.js';
import { systemClock, type Clock } from '../shared/runtime.js';
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
    const urls = new Set<string>();
    for (const sub of this.deps.subscriptions()) if (subscribes(sub, event, data)) urls.add(sub.url);
    if (urls.size === 0) return [];
    const { id, payload, created_at } = this.envelope(event, data);
    return [...urls].map((url) => ({ event_id: id, event, payload, url, created_at }));
  }

  /** A new event's id and serialized body (what the outbox stores and every attempt signs). */
  envelope(event: EventType | typeof TEST_EVENT, data: Record<string, unknown>): { id: string; payload: string; created_at: number } {
    const now = this.now();
    const envelope: WebhookEnvelope = { id: this.newEventId(), event, created_at: new Date(now).toISOString(), data };
    return { id: envelope.id, payload: JSON.stringify(envelope), created_at: now };
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
