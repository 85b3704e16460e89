/**
 * Follows the A/B tests kept in the store (approvals/store/ab-test-store.ts): read once before
 * the sidecar serves, again when another replica announces a new one (PostgreSQL fleet event
 * `ab_tests`, and after the notification connection comes back), and every `pollMs` — which
 * also covers `--workers` processes on one SQLite file and a fleet whose notifications are down.
 * A change clears the decision cache: cached decisions were taken without the new test.
 *
 * Reads run one at a time, in rounds (shared/rounds.ts): an announcement during a read asks for
 * one more read right after it. Two reads in flight at once could land out of order — a poll's
 * read begun before a test was made, answered after the announcement's read, would put back the
 * list without it until the next poll.
 */
import type { AbTestStore } from '../approvals/store/ab-test-store.js';
import { Rounds } from '../shared/rounds.js';
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
  /** Ends the polling; resolves once a read in flight has landed. */
  stop(): Promise<void>;
  /** Reads the store again: now, or right after the read in flight. */
  refresh(): void;
}

export function followStoredAbTests(d: AbSyncDeps): AbSync {
  let unsubscribe: (() => void) | undefined;
  let first = true;
  let failed: { err: unknown } | undefined;
  const rounds = new Rounds(d.timers, async () => {
    try {
      if (d.registry.adopt(await d.store.listAbTests())) d.changed();
    } catch (err) {
      if (first) failed = { err };
      else d.log.warn({ err }, 'A/B tests: reading the store failed; keeping the tests known');
    }
    first = false;
    return d.pollMs ?? AB_POLL_MS;
  });
  const stop = async (): Promise<void> => {
    unsubscribe?.();
    await rounds.stop();
  };
  return {
    refresh: () => rounds.notify(),
    async start() {
      unsubscribe = d.fleet?.subscribe((e) => {
        if (e.kind === 'ab_tests') rounds.notify();
      });
      await rounds.start();
      if (failed !== undefined) {
        await stop();
        throw failed.err;
      }
    },
    stop,
  };
}
