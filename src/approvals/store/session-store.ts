/**
 * Console sessions: an API key exchanged at login for a random session token (the cookie). The
 * store keeps the token's SHA-256 digest, never the token, so a copy of the database opens no
 * session; the key is not kept either, only its configured name, whose role and groups are read
 * from the live config on every request (a key removed by a reload ends its sessions).
 */

export interface ConsoleSessionRecord {
  /** SHA-256 hex of the session token the cookie carries. */
  readonly session_digest: string;
  /** The API key's configured name. */
  readonly key_name: string;
  /** Sent back in X-CSRF-Token on every change. */
  readonly csrf_token: string;
  readonly created_at: number;
  readonly expires_at: number;
}

export interface SessionStore {
  createConsoleSession(session: ConsoleSessionRecord): Promise<void>;
  /** The session, unless it is unknown or expired at `now`. */
  getConsoleSession(sessionDigest: string, now: number): Promise<ConsoleSessionRecord | undefined>;
  /** false if there was no such session. */
  deleteConsoleSession(sessionDigest: string): Promise<boolean>;
  /** Delete sessions expired at `now`; returns how many. */
  purgeConsoleSessions(now: number): Promise<number>;
}
