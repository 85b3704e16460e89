/**
 * The subscriptions events fan out to: the config's `webhooks:` and those made through the API
 * (the store), merged into one list held in memory — the publisher reads it inside store
 * transactions and the delivery worker on every row, so it must be a plain synchronous read.
 *
 * It is refreshed when this process changes a subscription, when the config reloads, and every
 * `pollMs`: under `serve --workers` (or a shared store) another process may have made one.
 * Urls identify subscriptions (outbox rows name their url): should a reload add a config url an
 * API subscription already has, the config's wins and the stored one is skipped, with a warning.
 */
import type { WebhookRecord } from '../approvals/store/records.js';
import type { WebhookStore } from '../approvals/store/store.js';
import { silentLogger, systemTimers, type Logger, type Timers } from '../shared/runtime.js';
import { eventTypesFor } from './sdk-events.js';
import type { WebhookSubscription } from './types.js';

export interface SubscriptionSetDeps {
  readonly store: Pick<WebhookStore, 'listWebhooks'>;
  readonly config: readonly WebhookSubscription[];
  readonly log?: Logger;
  readonly timers?: Timers;
  /** Re-read the store this often (ms). */
  readonly pollMs: number;
}

/** A stored subscription as the publisher and the worker use it (SDK event names mapped). */
export function toSubscription(r: WebhookRecord): WebhookSubscription {
  const mapped = eventTypesFor(r.events);
  return {
    id: r.webhook_id, url: r.url, secret: r.secret, guarded: true, format: r.format,
    events: 'types' in mapped ? mapped.types : [],
    ...(r.agent_id === null ? {} : { agent_id: r.agent_id }),
  };
}

export class SubscriptionSet {
  private config: readonly WebhookSubscription[];
  private stored: readonly WebhookSubscription[] = [];
  private merged: readonly WebhookSubscription[];
  private loading: Promise<void> = Promise.resolve();
  private timer: unknown;
  private polling = false;
  private warned = new Set<string>();
  private readonly log: Logger;
  private readonly timers: Timers;

  constructor(private readonly deps: SubscriptionSetDeps) {
    this.config = deps.config;
    this.merged = deps.config;
    this.log = deps.log ?? silentLogger;
    this.timers = deps.timers ?? systemTimers;
  }

  /** Config ∪ store, config first. */
  readonly all = (): readonly WebhookSubscription[] => this.merged;

  /** The config's subscriptions after a reload. */
  setConfig(subs: readonly WebhookSubscription[]): void {
    this.config = subs;
    this.merge();
  }

  /** Re-read the store; refreshes queue behind each other, so one asked for after a write sees it. */
  refresh(): Promise<void> {
    this.loading = this.loading.then(() => this.load());
    return this.loading;
  }

  /** Load now, then poll until stop(). */
  async start(): Promise<void> {
    this.polling = true;
    await this.refresh();
    this.schedule();
  }

  stop(): void {
    this.polling = false;
    this.timers.clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.polling) return;
    this.timer = this.timers.setTimeout(() => void this.refresh().finally(() => this.schedule()), this.deps.pollMs);
  }

  private async load(): Promise<void> {
    try {
      this.stored = (await this.deps.store.listWebhooks()).map(toSubscription);
      this.merge();
    } catch (err) {
      this.log.error({ err }, 'could not read the webhook subscriptions; keeping the last ones read');
    }
  }

  private merge(): void {
    const urls = new Set(this.config.map((s) => s.url));
    const shadowed = new Set(this.stored.filter((s) => urls.has(s.url)).map((s) => s.id ?? ''));
    for (const id of shadowed) {
      if (!this.warned.has(id)) this.log.warn({ webhook_id: id }, 'a config webhook has the url of this API subscription; it is skipped');
    }
    this.warned = shadowed;
    this.merged = [...this.config, ...this.stored.filter((s) => !urls.has(s.url))];
  }
}
