/**
 * Composition of the durable-state layer: store, approval service, deadline scheduler, webhook
 * publisher + delivery worker, audit buffer and retention, wired the one way they fit together.
 * The sidecar's app builder calls this once; it never listens on a socket itself.
 */
import type { Registry } from 'prom-client';
import { WebhookDeliveryWorker } from '../events/delivery.js';
import { registerWebhookMetrics } from '../events/metrics.js';
import { EventPublisher } from '../events/publisher.js';
import { SubscriptionSet } from '../events/subscriptions.js';
import { guardedTransport } from '../events/transport.js';
import type { WebhookSubscription } from '../events/types.js';
import { silentLogger, systemTimers, type Clock, type Logger, type Timers } from '../shared/runtime.js';
import { approvalSettings, type ApprovalSettings, type ApprovalsConfig, type StoreConfig, type WebhookDeliveryConfig } from './config.js';
import { registerApprovalMetrics } from './metrics.js';
import { GrantMemo } from './grant-memo.js';
import { ApprovalScheduler } from './scheduler.js';
import { ApprovalService, type TimeoutEvent } from './service.js';
import type { Fleet } from './store/postgres/fleet.js';
import { ActionWatch } from './watch.js';
import { AuditBuffer, type AuditDropReason } from './store/audit-buffer.js';
import { startRetention } from './store/retention.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

export interface ApprovalsLayerConfig {
  readonly store: Partial<StoreConfig> & { readonly path: string };
  readonly approvals?: Partial<ApprovalsConfig>;
  readonly webhooks?: readonly WebhookSubscription[];
  readonly webhook_delivery?: Partial<WebhookDeliveryConfig>;
}

export interface ApprovalsLayerDeps {
  /** Where the metrics go; omitted → no metrics. */
  readonly registry?: Registry;
  readonly log?: Logger;
  /**
   * A store to use instead of opening SQLite at config.store.path in this thread: the sidecar
   * passes a WorkerStore (the same file, in a worker thread); a shared store would go here too.
   */
  readonly store?: Store;
  readonly now?: Clock;
  readonly timers?: Timers;
  readonly random?: () => number;
  readonly fetch?: typeof fetch;
  /** Current approval settings, read at every use (so a config reload applies); else config.approvals. */
  readonly settings?: () => ApprovalSettings;
  /** api.allow_private_webhook_targets, read at every delivery to an API-made subscription; else false. */
  readonly allowPrivateWebhookTargets?: () => boolean;
  /** api.public_url, read per event: chat and ticket notifications link to the console under it. */
  readonly publicUrl?: () => string | undefined;
  /** Told about audit rows the buffer lost (ascend_audit_dropped_total{sink="store"}). */
  readonly onAuditDrop?: (rows: number, reason: AuditDropReason) => void;
  /** Told after a deadline's timeout was applied (escalated, or decided by timeout_action). */
  readonly onTimeout?: (t: TimeoutEvent) => void;
  /**
   * Replicas on one shared store (PostgreSQL): their notifications wake long-polls and the
   * scheduler, and the scheduler runs only while this process leads (see store/postgres/fleet.ts).
   */
  readonly fleet?: Fleet;
}

/** While fleet notifications are down, watched actions are re-read this often. */
export const WATCH_POLL_MS = 250;

/**
 * How often the API-made subscriptions are re-read from the store: this process re-reads them at
 * once when it changes one; another process sharing the store (`serve --workers`) sees the
 * change within this time.
 */
const SUBSCRIPTIONS_POLL_MS = 5000;

/** A settings object whose fields are read through `current` each time they are used. */
function liveSettings(current: () => ApprovalSettings): ApprovalSettings {
  return {
    get grant() { return current().grant; },
    get ttl_seconds() { return current().ttl_seconds; },
    get denial_ttl_seconds() { return current().denial_ttl_seconds; },
    get default_timeout_hours() { return current().default_timeout_hours; },
    get max_pending_per_agent() { return current().max_pending_per_agent; },
    get max_pending_total() { return current().max_pending_total; },
    get separation_of_duties() { return current().separation_of_duties; },
  };
}

export interface ApprovalsLayer {
  readonly store: Store;
  readonly approvals: ApprovalService;
  readonly events: EventPublisher;
  readonly audit: AuditBuffer;
  readonly scheduler: ApprovalScheduler;
  readonly delivery: WebhookDeliveryWorker;
  /** Long-polls waiting for an action to change. */
  readonly watch: ActionWatch;
  /** The other replicas on a shared store; undefined for a store of this process's own. */
  readonly fleet: Fleet | undefined;
  /** The config's and the API's subscriptions; `refresh()` after changing the stored ones. */
  readonly webhooks: SubscriptionSet;
  /** Swap the config's subscriptions after a reload (takes effect for queued retries too). */
  setWebhooks(subscriptions: readonly WebhookSubscription[]): void;
  /** Expire what fell due while down, then run the scheduler, delivery and retention. */
  start(): Promise<void>;
  /** Stop timers, finish in-flight work, flush the audit buffer, close the store. */
  stop(): Promise<void>;
}

export function createApprovalsLayer(config: ApprovalsLayerConfig, deps: ApprovalsLayerDeps = {}): ApprovalsLayer {
  const log = deps.log ?? silentLogger;
  const store = deps.store ?? new SqliteStore({ path: config.store.path, synchronous: config.store.synchronous ?? 'full' });
  const clock = deps.now ? { now: deps.now } : {};
  const timers = deps.timers ? { timers: deps.timers } : {};
  const webhooks = new SubscriptionSet({ store, config: config.webhooks ?? [], log, ...timers, pollMs: SUBSCRIPTIONS_POLL_MS });
  const subscriptions = webhooks.all;
  const d = config.webhook_delivery ?? {};
  const delivery = new WebhookDeliveryWorker({
    store, subscriptions, refreshSubscriptions: () => webhooks.refresh(), log, ...clock, ...timers,
    guarded: guardedTransport({ allowPrivate: deps.allowPrivateWebhookTargets ?? (() => false) }),
    ...(deps.random ? { random: deps.random } : {}), ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.registry ? { metrics: registerWebhookMetrics(deps.registry, () => store.outboxDepth()) } : {}),
  }, {
    ...(d.max_attempts ? { maxAttempts: d.max_attempts } : {}), ...(d.initial_backoff_ms ? { baseBackoffMs: d.initial_backoff_ms } : {}),
    ...(d.max_backoff_ms ? { maxBackoffMs: d.max_backoff_ms } : {}), ...(d.timeout_ms ? { timeoutMs: d.timeout_ms } : {}),
  });
  const events = new EventPublisher({
    subscriptions, store, ...clock, onEnqueued: () => delivery.notify(), ...(deps.publicUrl ? { publicUrl: deps.publicUrl } : {}),
  });
  // The scheduler and the service refer to each other; closures break the cycle.
  const scheduler: ApprovalScheduler = new ApprovalScheduler({ store, expire: (id) => approvals.expire(id), log, ...clock, ...timers });
  const watch = new ActionWatch();
  // On a shared store, ttl grants in use are kept here and dropped on the fleet's notifications.
  const grants = deps.fleet ? new GrantMemo(deps.fleet, deps.registry ? { registry: deps.registry } : {}) : undefined;
  const approvals: ApprovalService = new ApprovalService({
    store, events, settings: deps.settings ? liveSettings(deps.settings) : approvalSettings(config.approvals), ...clock, onDeadlineChanged: () => scheduler.notify(),
    onActionChanged: (id) => watch.changed(id),
    ...(deps.onTimeout ? { onTimeout: deps.onTimeout } : {}), ...(grants ? { grants } : {}),
    ...(deps.registry ? { metrics: registerApprovalMetrics(deps.registry, () => store.countApprovals('pending')) } : {}),
  });
  const audit = new AuditBuffer(
    { store, log, ...timers, ...(deps.onAuditDrop ? { onDrop: deps.onAuditDrop } : {}) },
    config.store.audit_buffer_rows ? { maxBuffered: config.store.audit_buffer_rows } : {},
  );
  let stopRetention: (() => void) | undefined;
  const fleet = deps.fleet;
  const fleetLinks: (() => void)[] = [];
  return {
    store, approvals, events, audit, scheduler, delivery, watch, webhooks, fleet,
    setWebhooks: (subs) => webhooks.setConfig(subs),
    async start() {
      await webhooks.start();
      if (fleet) {
        if (grants) fleetLinks.push(grants.start());
        fleetLinks.push(fleet.subscribe((e) => {
          if (e.kind === 'action') {
            if (e.id) watch.changed(e.id);
            else void pollWatched(store, watch); // reconnected: what changed meanwhile
          } else if (e.kind === 'deadline') scheduler.notify();
          else if (e.kind === 'webhooks') void webhooks.refresh().catch(() => undefined);
        }));
        fleetLinks.push(fleet.onLeadership((leader) => {
          if (leader) void scheduler.start().catch((err: unknown) => log.error({ err }, 'approval scheduler failed to start'));
          else void scheduler.stop();
        }));
        fleetLinks.push(watchPoller(store, watch, fleet, deps.timers ?? systemTimers));
        fleet.start();
      } else {
        await scheduler.start();
      }
      delivery.start();
      stopRetention = startRetention({ store, retentionDays: config.store.audit_retention_days ?? 30, log, ...clock, ...timers });
    },
    async stop() {
      stopRetention?.();
      for (const unlink of fleetLinks.splice(0)) unlink();
      await fleet?.stop();
      webhooks.stop();
      await scheduler.stop();
      await delivery.stop();
      await audit.close();
      await store.close();
    },
  };
}

/** Wakes the long-polls whose action is no longer pending (read from the store). */
async function pollWatched(store: Store, watch: ActionWatch): Promise<void> {
  for (const id of watch.ids()) {
    const a = await store.getAction(id).catch(() => undefined);
    if (a && a.status !== 'pending') watch.changed(id);
  }
}

/** The polling fallback: while fleet notifications are not arriving, re-read watched actions. */
function watchPoller(store: Store, watch: ActionWatch, fleet: Fleet, timers: Timers): () => void {
  let timer: unknown;
  let stopped = false;
  const tick = async () => {
    if (!fleet.live && watch.size > 0) await pollWatched(store, watch);
    if (!stopped) timer = timers.setTimeout(() => void tick(), WATCH_POLL_MS);
  };
  timer = timers.setTimeout(() => void tick(), WATCH_POLL_MS);
  return () => { stopped = true; timers.clearTimeout(timer); };
}
