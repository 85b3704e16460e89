/**
 * Open (creating if needed) the SQLite file and bring its schema up to date.
 *
 * Durability: WAL journal, and `synchronous=FULL` by default — every commit fsyncs the WAL, so a
 * transaction that returned has reached the disk and survives kill -9, an OS crash and power loss.
 * `normal` is offered for disks where fsync is slow: in WAL mode it still survives kill -9 (a
 * committed transaction is in the OS page cache, which outlives the process) but can lose the
 * last commits on power loss. Approvals are human-paced and audit rows arrive in ~100 ms batches,
 * so FULL costs a few fsyncs per second at most.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export interface SqliteOptions {
  /** File path; parent directories are created. ':memory:' for throwaway stores. */
  readonly path: string;
  readonly synchronous?: 'full' | 'normal';
  /** How long to wait for another process's write lock before failing (ms). */
  readonly busyTimeoutMs?: number;
}

export function openSqlite(options: SqliteOptions): Database.Database {
  return openAndMigrate(options).db;
}

/** Opens, migrates and closes the file (`ascend-sidecar migrate`): the versions before and after. */
export function openSqliteVersions(options: SqliteOptions): { from: number; to: number } {
  const { db, versions } = openAndMigrate(options);
  db.close();
  return versions;
}

function openAndMigrate(options: SqliteOptions): { db: Database.Database; versions: { from: number; to: number } } {
  const memory = options.path === ':memory:';
  if (!memory) mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
  try {
    if (!memory) {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') throw new Error(`could not enable WAL (journal_mode=${String(mode)})`);
    }
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    const versions = migrate(db);
    return { db, versions };
  } catch (err) {
    db.close();
    throw err;
  }
}
