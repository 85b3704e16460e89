/** Console sessions in PostgreSQL (session-store.ts): one row per session, keyed by the token's digest. */
import type pg from 'pg';
import type { ConsoleSessionRecord } from '../session-store.js';

export class SessionsPg {
  constructor(private readonly pool: pg.Pool) {}

  async create(s: ConsoleSessionRecord): Promise<void> {
    await this.pool.query(`INSERT INTO console_sessions (session_digest, key_name, csrf_token, created_at, expires_at)
      VALUES ($1, $2, $3, $4, $5)`, [s.session_digest, s.key_name, s.csrf_token, s.created_at, s.expires_at]);
  }

  async get(digest: string, now: number): Promise<ConsoleSessionRecord | undefined> {
    const r = await this.pool.query<ConsoleSessionRecord>(
      'SELECT session_digest, key_name, csrf_token, created_at, expires_at FROM console_sessions WHERE session_digest = $1 AND expires_at > $2', [digest, now]);
    return r.rows[0];
  }

  async remove(digest: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM console_sessions WHERE session_digest = $1', [digest])).rowCount ?? 0) === 1;
  }

  async purge(now: number): Promise<number> {
    return (await this.pool.query('DELETE FROM console_sessions WHERE expires_at <= $1', [now])).rowCount ?? 0;
  }
}
