import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { auditRow, pendingApproval } from '../../../../test/helpers/records.js';
import { describeStoreContract } from '../../../../test/helpers/store-contract.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { waitFor } from '../../../../test/helpers/wait.js';
import { StoreError } from '../errors.js';
import { SqliteStore } from '../sqlite/sqlite-store.js';
import { WorkerStore } from './worker-store.js';

describeStoreContract('WorkerStore', (path) => WorkerStore.open({ path }));

const dir = tempDir('ascend-worker-store-');
let n = 0;
const opened: { close(): Promise<void> }[] = [];
const file = () => join(dir, `w${++n}.db`);
async function open(path = file()): Promise<WorkerStore> {
  const s = await WorkerStore.open({ path });
  opened.push(s);
  return s;
}
afterEach(async () => { await Promise.all(opened.splice(0).map((s) => s.close())); });

/** Another connection holding SQLite's write lock, as another process would. */
function holdWriteLock(path: string): { release(): void } {
  const db = new Database(path);
  db.exec('BEGIN EXCLUSIVE');
  return { release: () => { db.exec('COMMIT'); db.close(); } };
}

const turns = async (count: number) => { for (let i = 0; i < count; i++) await new Promise((r) => setImmediate(r)); };

describe('WorkerStore: the thread that owns the connection', () => {
  it('waits for another connection\'s write lock in its thread: the caller\'s event loop keeps turning', async () => {
    const path = file();
    const s = await open(path);
    const lock = holdWriteLock(path);
    let settled = false;
    const write = s.createPendingApproval(pendingApproval()).finally(() => { settled = true; });
    await turns(20);
    expect(settled).toBe(false); // twenty turns of this loop while the write waited for the lock
    lock.release();
    expect(await write).toMatchObject({ created: true });
  });

  it('fails an audit flush under a held lock with SQLITE_BUSY (name and code kept); approvals queued behind it proceed after', async () => {
    const path = file();
    const s = await open(path);
    const lock = holdWriteLock(path);
    const flush = s.appendAudit([auditRow()]);
    const approval = s.createPendingApproval(pendingApproval());
    await expect(flush).rejects.toMatchObject({ name: 'SqliteError', code: 'SQLITE_BUSY' });
    lock.release();
    expect(await approval).toMatchObject({ created: true });
    await s.appendAudit([auditRow()]);
    expect((await s.queryAudit({ limit: 10 })).items).toHaveLength(1);
  });

  it('runs at a lower CPU priority than the thread that answers checks (Linux: nice 10)', async () => {
    const niceThreads = () => readdirSync('/proc/self/task').filter((tid) => {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16] === '10'; // field 19, nice
      } catch {
        return false; // a thread that ended meanwhile
      }
    }).length;
    const before = niceThreads();
    await open();
    expect(niceThreads()).toBe(before + 1);
  });

  it('keeps the caps exact between two threads writing one file in parallel', async () => {
    const path = file();
    const [a, b] = [await open(path), await open(path)];
    const limits = { per_agent: 10, total: 1000 };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).createPendingApproval(pendingApproval({ agent_id: 'x', limits }))));
    expect(results.filter((r) => r.created)).toHaveLength(10);
    expect(results.filter((r) => 'rejected' in r)).toHaveLength(30);
    expect(await a.countApprovals('pending')).toBe(10);
  });

  it('hands records over unchanged: what it wrote reads back strictly equal in this thread', async () => {
    const path = file();
    const s = await open(path);
    const input = pendingApproval({ now: 1_700_000_000_123 });
    const rich = { ...input, action: { ...input.action, parameters: { amount: 12.5, note: 'café ✓ 日本', tags: ['a', null, { deep: [1, { x: true }] }], none: null } } };
    await s.createPendingApproval(rich);
    const here = new SqliteStore({ path });
    try {
      expect(await s.getAction(rich.action.action_id)).toStrictEqual(await here.getAction(rich.action.action_id));
      expect(await s.getAction(rich.action.action_id)).toStrictEqual(rich.action);
      expect(await s.getApproval(rich.approval.approval_id)).toStrictEqual(rich.approval);
      expect(await s.listApprovals({ limit: 5 })).toStrictEqual(await here.listApprovals({ limit: 5 }));
    } finally {
      await here.close();
    }
  });
});

describe('WorkerStore: failures', () => {
  it('fails the calls in flight when its thread dies, never leaves one hanging, and starts a new thread for the next call', async () => {
    const s = await open();
    const calls = Array.from({ length: 50 }, () => s.appendAudit(Array.from({ length: 100 }, () => auditRow())).then(() => 'ok', (e: unknown) => e));
    await s.terminate();
    const outcomes = await Promise.all(calls);
    const failed = outcomes.filter((o) => o !== 'ok');
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) {
      expect(e).toBeInstanceOf(StoreError);
      expect(e).toMatchObject({ code: 'store_unavailable', message: expect.stringContaining('the store worker exited') });
    }
    // A new thread on the same file; each batch was one transaction: all of it or none.
    const stored = (await s.queryAudit({ limit: 10_000 })).items.length;
    expect(stored).toBe(outcomes.filter((o) => o === 'ok').length * 100);
  });

  it('fails calls clearly while a new thread cannot open the file, and starts one once the cause is gone', async () => {
    const path = file();
    const s = await open(path);
    await s.terminate();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations VALUES (99, ?, 0)').run('from the future');
    const refused = s.outboxDepth();
    await expect(refused).rejects.toBeInstanceOf(StoreError);
    await expect(refused).rejects.toMatchObject({ code: 'schema_too_new' });
    await expect(s.outboxDepth()).rejects.toMatchObject({ code: 'schema_too_new' });
    db.prepare('DELETE FROM schema_migrations WHERE version = 99').run();
    db.close();
    await waitFor(() => s.outboxDepth().then(() => true, () => false), { what: 'a new store thread' });
  });

  it('refuses calls beyond maxCalls at once while its thread is held up, and takes them again after', async () => {
    const path = file();
    const s = await WorkerStore.open({ path, maxCalls: 3 });
    opened.push(s);
    const lock = holdWriteLock(path);
    const waiting = Array.from({ length: 3 }, () => s.createPendingApproval(pendingApproval()));
    await expect(s.outboxDepth()).rejects.toMatchObject({ code: 'store_unavailable', message: expect.stringContaining('3 calls waiting') });
    lock.release();
    expect((await Promise.all(waiting)).every((r) => r.created)).toBe(true);
    expect(await s.countApprovals('pending')).toBe(3);
  });

  it('refuses to open a file it cannot use, with the store error', async () => {
    const path = file();
    await (await open(path)).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations VALUES (99, ?, 0)').run('from the future');
    db.close();
    await expect(WorkerStore.open({ path })).rejects.toMatchObject({ code: 'schema_too_new' });
  });

  it('close() lets the calls already made finish, checkpoints the file, then refuses new calls', async () => {
    const path = file();
    const s = await WorkerStore.open({ path });
    const calls = Array.from({ length: 20 }, () => s.createPendingApproval(pendingApproval()));
    const closed = s.close();
    await expect(s.outboxDepth()).rejects.toMatchObject({ code: 'store_closed' });
    expect((await Promise.all(calls)).every((r) => r.created)).toBe(true);
    await closed;
    await s.close(); // idempotent
    expect(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0).toBe(true);
    const reopened = new SqliteStore({ path });
    expect(await reopened.countApprovals('pending')).toBe(20);
    await reopened.close();
  });
});
