import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { auditRow } from '../../../test/helpers/records.js';
import { AuditBuffer } from './audit-buffer.js';
import type { AuditRecord } from './records.js';

function fakeStore() {
  const batches: AuditRecord[][] = [];
  let failures = 0;
  return {
    batches,
    failNext: (n: number) => { failures = n; },
    appendAudit: async (rows: readonly AuditRecord[]) => {
      if (failures > 0) { failures--; throw new Error('disk full'); }
      batches.push([...rows]);
    },
  };
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('AuditBuffer', () => {
  it('flushes flushIntervalMs after the first row, as one batch', async () => {
    const store = fakeStore();
    const buf = new AuditBuffer({ store }, { flushIntervalMs: 100 });
    buf.push(auditRow({ ts: 1 }));
    await vi.advanceTimersByTimeAsync(50);
    buf.push(auditRow({ ts: 2 }));
    await vi.advanceTimersByTimeAsync(49);
    expect(store.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.batches.map((b) => b.map((r) => r.ts))).toEqual([[1, 2]]);
    expect(vi.getTimerCount()).toBe(0); // idle: no timer armed
  });

  it('flushes at maxBatch without waiting, in batches of at most maxBatch', async () => {
    const store = fakeStore();
    const buf = new AuditBuffer({ store }, { maxBatch: 3 });
    for (let i = 0; i < 2; i++) buf.push(auditRow({ ts: i }));
    await vi.advanceTimersByTimeAsync(0);
    expect(store.batches).toEqual([]);
    for (let i = 2; i < 7; i++) buf.push(auditRow({ ts: i })); // the 3rd row triggers a flush
    await vi.advanceTimersByTimeAsync(0); // no interval passed: only microtasks ran
    expect(store.batches.map((b) => b.map((r) => r.ts))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  });

  it('keeps rows when the store fails and writes them on the next try, in order', async () => {
    const store = fakeStore();
    const onDrop = vi.fn();
    const buf = new AuditBuffer({ store, onDrop }, { flushIntervalMs: 100 });
    store.failNext(1);
    buf.push(auditRow({ ts: 1 }));
    await vi.advanceTimersByTimeAsync(100);
    expect([store.batches.length, buf.pending]).toEqual([0, 1]);
    buf.push(auditRow({ ts: 2 }));
    await vi.advanceTimersByTimeAsync(100);
    expect(store.batches.map((b) => b.map((r) => r.ts))).toEqual([[1, 2]]);
    expect(onDrop).not.toHaveBeenCalled();
  });

  it('drops the oldest rows beyond maxBuffered and says how many', async () => {
    const store = fakeStore();
    const onDrop = vi.fn();
    const buf = new AuditBuffer({ store, onDrop }, { maxBuffered: 3, maxBatch: 100 });
    for (let i = 0; i < 5; i++) buf.push(auditRow({ ts: i }));
    await buf.flush();
    expect(store.batches.map((b) => b.map((r) => r.ts))).toEqual([[2, 3, 4]]);
    expect(onDrop.mock.calls).toEqual([[1, 'buffer_full'], [1, 'buffer_full']]);
  });

  it('keeps maxBuffered after a failed write: rows pushed while the batch was out count too', async () => {
    let fail: (e: Error) => void = () => {};
    const store: { appendAudit: (rows: readonly AuditRecord[]) => Promise<void> } = { appendAudit: () => new Promise<void>((_, reject) => { fail = reject; }) };
    const onDrop = vi.fn();
    const buf = new AuditBuffer({ store, onDrop }, { maxBuffered: 5, flushIntervalMs: 100 });
    for (let i = 0; i < 3; i++) buf.push(auditRow({ ts: i }));
    await vi.advanceTimersByTimeAsync(100); // rows 0-2 out to the store, the write still pending
    for (let i = 3; i < 10; i++) buf.push(auditRow({ ts: i })); // 7 queued: 2 beyond the bound
    expect(buf.pending).toBe(5);
    fail(new Error('disk full'));
    await vi.advanceTimersByTimeAsync(0);
    // 10 pushed, 5 kept (the newest), 5 dropped: the failed batch does not bring the queue to 8.
    expect(buf.pending).toBe(5);
    expect(onDrop.mock.calls.reduce((n, [k]) => n + (k as number), 0)).toBe(5);
    expect(onDrop.mock.calls.every(([, reason]) => reason === 'buffer_full')).toBe(true);
    const written: number[] = [];
    store.appendAudit = async (rows: readonly AuditRecord[]) => { written.push(...rows.map((r) => r.ts)); };
    await buf.flush();
    expect(written).toEqual([5, 6, 7, 8, 9]);
  });

  it('close flushes what is left and refuses later rows', async () => {
    const store = fakeStore();
    const onDrop = vi.fn();
    const buf = new AuditBuffer({ store, onDrop });
    buf.push(auditRow({ ts: 1 }));
    await buf.close();
    buf.push(auditRow({ ts: 2 }));
    expect(store.batches.map((b) => b.map((r) => r.ts))).toEqual([[1]]);
    expect(onDrop).toHaveBeenCalledWith(1, 'closed');
  });

  it('counts the rows a failing store still holds at close as dropped (nothing retries them)', async () => {
    const store = fakeStore();
    const onDrop = vi.fn();
    const buf = new AuditBuffer({ store, onDrop }, { flushIntervalMs: 100 });
    store.failNext(2);
    buf.push(auditRow({ ts: 1 }));
    buf.push(auditRow({ ts: 2 }));
    await vi.advanceTimersByTimeAsync(100); // first failure: kept for a retry
    expect(onDrop).not.toHaveBeenCalled();
    await buf.close(); // second failure: the last flush
    expect([store.batches.length, buf.pending]).toEqual([0, 0]);
    expect(onDrop.mock.calls).toEqual([[2, 'store_failed']]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('at close, rows a failed write brings back over the bound are lost to the store, not to the bound', async () => {
    let fail: (e: Error) => void = () => {};
    const store: { appendAudit: (rows: readonly AuditRecord[]) => Promise<void> } = { appendAudit: () => new Promise<void>((_, reject) => { fail = reject; }) };
    const onDrop = vi.fn();
    const buf = new AuditBuffer({ store, onDrop }, { maxBuffered: 2, flushIntervalMs: 100 });
    buf.push(auditRow({ ts: 1 }));
    buf.push(auditRow({ ts: 2 }));
    await vi.advanceTimersByTimeAsync(100); // both out to the store, the write pending
    buf.push(auditRow({ ts: 3 }));
    buf.push(auditRow({ ts: 4 }));
    const closed = buf.close();
    fail(new Error('disk full'));
    await closed;
    expect(onDrop.mock.calls).toEqual([[4, 'store_failed']]);
  });
});
