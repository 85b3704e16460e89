/**
 * Follows the A/B tests kept in the store (approvals/store/ab-test-store.ts): read once before
 * the sidecar serves, again when another replica announces a new one (PostgreSQL fleet event
 * `ab_tests`, and after the notification connection comes back), and every `pollMs` — which
 * also covers `--workers` processes on one SQLite file and a fleet whose notifications are down.
 * A change clears the decision cache: cached decisions were taken without the new test.
 */
import type { AbTestStore } from '../approvals/store/ab-test-store.js';
import type { Logger, Timers } from '../shared/runtime.js';
import type { AbRegistry } from './ab-registry.js';

export const AB_POLL_MS = 5000;

export interface AbSyncDeps {
  readonly store: AbTestStore;
  readonly registry: AbRegistry;
  /** Called after a change (clears the decision cache). */
  readonly changed: () => void;
  readonly timers: Timers;
  readonly log: Logger;
  readonly fleet?: { subscribe(fn: (e: { kind: string }) => void): () => void } | undefined;
  readonly pollMs?: number;
}

export interface AbSync {
  /** The first read; rejects when the store cannot be read (the sidecar does not start without its tests). */
  start(): Promise<void>;
  stop(): void;
  /** Read the store now. */
  refresh(): Promise<void>;
}

export function followStoredAbTests(d: AbSyncDeps): AbSync {
  let timer: unknown;
  let stopped = false;
  let unsubscribe: (() => void) | undefined;
  const refresh = async (): Promise<void> => {
    if (d.registry.adopt(await d.store.listAbTests())) d.changed();
  };
  const tick = async (): Promise<void> => {
    await refresh().catch((err: unknown) => d.log.warn({ err }, 'A/B tests: reading the store failed; keeping the tests known'));
    if (!stopped) timer = d.timers.setTimeout(() => void tick(), d.pollMs ?? AB_POLL_MS);
  };
  return {
    refresh,
    async start() {
      await refresh();
      unsubscribe = d.fleet?.subscribe((e) => {
        if (e.kind === 'ab_tests') void refresh().catch(() => undefined);
      });
      timer = d.timers.setTimeout(() => void tick(), d.pollMs ?? AB_POLL_MS);
    },
    stop() {
      stopped = true;
      d.timers.clearTimeout(timer);
      unsubscribe?.();
    },
  };
}
