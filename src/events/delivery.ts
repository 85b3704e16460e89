/**
 * Drains the durable outbox to the webhook subscriptions: at-least-once, exponential backoff with
 * full jitter, a maximum attempt count, then the dead-letter state. Each attempt goes through
 * attemptDelivery (post.ts): the config's subscriptions over `fetch`, those made through the API
 * over the SSRF-guarded transport (transport.ts).
 *
 * Webhook URLs often carry a token (Slack, Teams): logs and stored errors show them masked
 * (`scheme://host/…`), never whole.
 */
import type { OutboxRow } from '../approvals/store/records.js';
import type { OutboxStore } from '../approvals/store/store.js';
import { maskUrl, maskUrlIn } from '../observability/redact.js';
import { Rounds } from '../shared/rounds.js';
import { silentLogger, systemClock, systemTimers, type Clock, type Logger, type Timers } from '../shared/runtime.js';
import { fullJitterDelay } from './backoff.js';
import type { DeliveryResult, WebhookMetrics } from './metrics.js';
import { attemptDelivery, type AttemptOutcome } from './post.js';
import { fetchTransport, guardedTransport, type WebhookTransport } from './transport.js';
import type { WebhookSubscription } from './types.js';

export interface DeliveryOptions {
  /** Attempts before a delivery is dead-lettered. Default 8. */
  readonly maxAttempts?: number;
  /** Backoff ceiling after the first failure (ms). Default 1000. */
  readonly baseBackoffMs?: number;
  /** Largest backoff ceiling (ms). Default 300000 (5 min). */
  readonly maxBackoffMs?: number;
  /** Per-attempt timeout, connect to response headers (ms). Default 10000. */
  readonly timeoutMs?: number;
  /** How long a claimed row stays invisible to other claims (a dead deliverer's rows go to another after it); must exceed timeoutMs. Default 30000. */
  readonly leaseMs?: number;
  /** Rows claimed per round. Default 16. */
  readonly batchSize?: number;
  /** Poll for due retries this often (ms); new events come through notify(). Default 1000. */
  readonly pollIntervalMs?: number;
}

export interface DeliveryDeps {
  readonly store: OutboxStore;
  readonly subscriptions: () => readonly WebhookSubscription[];
  /** Re-read the subscriptions (another process may have made the one a row is for). */
  readonly refreshSubscriptions?: () => Promise<void>;
  /** Transport of the config's subscriptions. Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** Transport of `guarded` (API-made) subscriptions. Default: guardedTransport refusing private targets. */
  readonly guarded?: WebhookTransport;
  readonly now?: Clock;
  /** Uniform in [0, 1); drives the jitter. */
  readonly random?: () => number;
  readonly timers?: Timers;
  readonly metrics?: WebhookMetrics;
  readonly log?: Logger;
}

export class WebhookDeliveryWorker {
  private readonly o: Required<DeliveryOptions>;
  private readonly plain: WebhookTransport;
  private readonly guarded: WebhookTransport;
  private readonly now: Clock;
  private readonly random: () => number;
  private readonly timers: Timers;
  private readonly log: Logger;
  private readonly rounds: Rounds;

  constructor(private readonly deps: DeliveryDeps, options: DeliveryOptions = {}) {
    this.o = {
      maxAttempts: 8, baseBackoffMs: 1000, maxBackoffMs: 300_000, timeoutMs: 10_000, leaseMs: 30_000,
      batchSize: 16, pollIntervalMs: 1000, ...options,
    };
    if (this.o.leaseMs <= this.o.timeoutMs) throw new RangeError('leaseMs must exceed timeoutMs');
    this.plain = fetchTransport(deps.fetch ?? ((input, init) => globalThis.fetch(input, init)));
    this.guarded = deps.guarded ?? guardedTransport({ allowPrivate: () => false });
    this.now = deps.now ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.timers = deps.timers ?? systemTimers;
    this.log = deps.log ?? silentLogger;
    this.rounds = new Rounds(this.timers, () => this.loop());
  }

  /** Start draining now and then every pollIntervalMs. */
  start(): void {
    void this.rounds.start();
  }

  /** Something was enqueued: run a round as soon as the current one ends. */
  notify(): void {
    this.rounds.notify();
  }

  /** Stop polling and wait for in-flight deliveries (their rows are marked before this resolves). */
  stop(): Promise<void> {
    return this.rounds.stop();
  }

  /** One round: claim due rows and attempt each once. Returns the outcomes (for tests and tools). */
  async runOnce(): Promise<DeliveryResult[]> {
    const rows = await this.deps.store.claimOutbox(this.now(), this.o.batchSize, this.o.leaseMs);
    return Promise.all(rows.map((row) => this.deliver(row)));
  }

  /**
   * Claims until a short batch with nothing enqueued meanwhile (a notify after the last claim may
   * concern rows it did not see); the next look is pollIntervalMs later.
   */
  private async loop(): Promise<number> {
    try {
      let full = true;
      while (this.rounds.active && (this.rounds.takeAgain() || full)) {
        full = (await this.runOnce()).length === this.o.batchSize;
      }
    } catch (err) {
      this.log.error({ err }, 'webhook outbox round failed');
    }
    return this.o.pollIntervalMs;
  }

  /** One attempt to `sub` now, outside the outbox (the API's webhook test). */
  send(sub: WebhookSubscription, eventId: string, payload: string): Promise<AttemptOutcome> {
    return attemptDelivery({
      transport: sub.guarded ? this.guarded : this.plain, url: sub.url, secret: sub.secret, eventId, payload,
      now: this.now(), timeoutMs: this.o.timeoutMs, timers: this.timers,
    });
  }

  private async deliver(row: OutboxRow): Promise<DeliveryResult> {
    const sub = await this.subscriptionFor(row.url);
    if (!sub) return this.record(row, 'no subscription for this url any more', true);
    // attempts was bumped by the claim; past the maximum means earlier claims never reported back
    // (the process died mid-delivery), and a row that keeps killing its worker must still end.
    if (row.attempts > this.o.maxAttempts) return this.record(row, 'max attempts exceeded', true);
    const { error } = await this.send(sub, row.event_id, row.payload);
    // A webhook URL is often a secret itself: an error that quotes it is stored and shown masked.
    return this.record(row, error === undefined ? undefined : maskUrlIn(error, row.url), row.attempts >= this.o.maxAttempts);
  }

  private async subscriptionFor(url: string): Promise<WebhookSubscription | undefined> {
    const find = () => this.deps.subscriptions().find((s) => s.url === url);
    const sub = find();
    if (sub || !this.deps.refreshSubscriptions) return sub;
    await this.deps.refreshSubscriptions();
    return find();
  }

  private async record(row: OutboxRow, error: string | undefined, lastAttempt: boolean): Promise<DeliveryResult> {
    const { store } = this.deps;
    let result: DeliveryResult;
    if (error === undefined) {
      await store.markDelivered(row.id, this.now());
      result = 'delivered';
    } else if (lastAttempt) {
      await store.markDead(row.id, error);
      result = 'dead';
      this.log.warn({ outbox_id: row.id, event_id: row.event_id, url: maskUrl(row.url), attempts: row.attempts, error }, 'webhook dead-lettered');
    } else {
      const delay = fullJitterDelay(row.attempts, { baseMs: this.o.baseBackoffMs, maxMs: this.o.maxBackoffMs }, this.random);
      await store.markFailed(row.id, error, this.now() + delay);
      result = 'failed';
    }
    this.deps.metrics?.delivery(result);
    return result;
  }
}
