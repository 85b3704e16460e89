/** Console sessions in SQLite (session-store.ts): one row per session, keyed by the token's digest. */
import type { Database, Statement } from 'better-sqlite3';
import type { ConsoleSessionRecord } from '../session-store.js';

export class SessionsSql {
  private readonly s: Record<'insert' | 'get' | 'remove' | 'purge', Statement>;

  constructor(db: Database) {
    this.s = {
      insert: db.prepare(`INSERT INTO console_sessions (session_digest, key_name, csrf_token, created_at, expires_at)
        VALUES (:session_digest, :key_name, :csrf_token, :created_at, :expires_at)`),
      get: db.prepare('SELECT * FROM console_sessions WHERE session_digest = ? AND expires_at > ?'),
      remove: db.prepare('DELETE FROM console_sessions WHERE session_digest = ?'),
      purge: db.prepare('DELETE FROM console_sessions WHERE expires_at <= ?'),
    };
  }

  create(s: ConsoleSessionRecord): void {
    this.s.insert.run({ ...s });
  }

  get(digest: string, now: number): ConsoleSessionRecord | undefined {
    return this.s.get.get(digest, now) as ConsoleSessionRecord | undefined;
  }

  remove(digest: string): boolean {
    return this.s.remove.run(digest).changes === 1;
  }

  purge(now: number): number {
    return this.s.purge.run(now).changes;
  }
}
