import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { auditRow, outboxEntry } from '../../../test/helpers/records.js';
import { tempDir } from '../../../test/helpers/tmp.js';
import { purgeExpired, startRetention } from './retention.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

const DAY = 86_400_000;
const NOW = 1_700_000_000_000;
const dir = tempDir('ascend-retention-');

describe('retention', () => {
  it('purges old audit rows and old delivered webhooks, keeping pending and dead ones', async () => {
    const store = new SqliteStore({ path: join(dir, 'r.db') });
    await store.appendAudit([auditRow({ ts: NOW - 31 * DAY }), auditRow({ ts: NOW - 29 * DAY })]);
    await store.enqueueOutbox([outboxEntry({ created_at: NOW - 40 * DAY }), outboxEntry({ created_at: NOW - 40 * DAY }), outboxEntry({ created_at: NOW - 40 * DAY })]);
    const [delivered, dead] = await store.claimOutbox(NOW, 2, 1000);
    await store.markDelivered(delivered!.id, NOW);
    await store.markDead(dead!.id, 'HTTP 410');
    expect(await purgeExpired({ store, retentionDays: 30, now: () => NOW })).toEqual({ audit: 1, outbox: 1 });
    expect((await store.queryAudit({ limit: 10 })).items).toHaveLength(1);
    expect(await store.outboxDepth()).toBe(1);
    expect((await store.listDeadLetters({ limit: 10 })).items).toHaveLength(1);
    await store.close();
  });

  it('startRetention purges now and then on its interval until stopped', async () => {
    vi.useFakeTimers();
    try {
      const calls: number[] = [];
      const store = { purgeAudit: async (before: number) => { calls.push(before); return 0; }, purgeDeliveredOutbox: async () => 0 };
      const stop = startRetention({ store, retentionDays: 1, now: () => NOW }, 1000);
      await vi.advanceTimersByTimeAsync(2500);
      stop();
      await vi.advanceTimersByTimeAsync(5000);
      expect(calls).toEqual([NOW - DAY, NOW - DAY, NOW - DAY]);
    } finally {
      vi.useRealTimers();
    }
  });
});
