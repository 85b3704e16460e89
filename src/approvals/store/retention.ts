/**
 * Periodic retention: deletes audit rows and delivered webhook rows older than the configured
 * number of days. Pending and dead outbox rows are never purged here — they are work or evidence.
 */
import { silentLogger, systemClock, systemTimers, type Clock, type Logger, type Timers } from '../../shared/runtime.js';
import type { AuditStore, OutboxStore } from './store.js';

export interface RetentionDeps {
  readonly store: Pick<AuditStore, 'purgeAudit'> & Pick<OutboxStore, 'purgeDeliveredOutbox'>;
  readonly retentionDays: number;
  readonly now?: Clock;
  readonly timers?: Timers;
  readonly log?: Logger;
}

/** One purge; returns the rows deleted. */
export async function purgeExpired(deps: RetentionDeps): Promise<{ audit: number; outbox: number }> {
  const before = (deps.now ?? systemClock)() - deps.retentionDays * 86_400_000;
  const audit = await deps.store.purgeAudit(before);
  const outbox = await deps.store.purgeDeliveredOutbox(before);
  return { audit, outbox };
}

/** Purge now and every `everyMs` (default hourly); returns a stop function. */
export function startRetention(deps: RetentionDeps, everyMs = 3_600_000): () => void {
  const timers = deps.timers ?? systemTimers;
  const log = deps.log ?? silentLogger;
  let timer: unknown;
  let stopped = false;
  const tick = async () => {
    try {
      const n = await purgeExpired(deps);
      if (n.audit || n.outbox) log.info(n, 'retention purge');
    } catch (err) {
      log.error({ err }, 'retention purge failed');
    }
    if (!stopped) timer = timers.setTimeout(() => void tick(), everyMs);
  };
  void tick();
  return () => { stopped = true; timers.clearTimeout(timer); };
}
