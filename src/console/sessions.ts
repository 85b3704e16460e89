/**
 * Console sessions: POST /console/api/login exchanges an API key for a random session token in
 * an HttpOnly, SameSite=Strict cookie (Secure when the request came over TLS), and a CSRF token
 * the page sends back in X-CSRF-Token with every change. The store keeps the token's digest and
 * the key's name (session-store.ts); role and groups come from the live config on each request.
 * Agent keys cannot log in: the console is for people (viewers, approvers, admins).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyTable, ApiPrincipal } from '../api/keys.js';
import { ApiError } from '../api/errors.js';
import type { SessionStore } from '../approvals/store/session-store.js';

export const COOKIE = 'ascend_console';
/** With TLS the cookie takes the __Host- prefix: the browser then insists on Secure, Path=/ and no Domain. */
export const TLS_COOKIE = `__Host-${COOKIE}`;

export interface ConsoleSession {
  readonly principal: ApiPrincipal;
  readonly csrf: string;
  readonly digest: string;
  readonly expiresAt: number;
}

const digestOf = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export interface SessionDeps {
  readonly store: SessionStore;
  readonly keys: () => ApiKeyTable;
  readonly ttlMs: () => number;
  readonly now: () => number;
}

export class ConsoleSessions {
  constructor(private readonly d: SessionDeps) {}

  /** A new session for a valid viewer, approver or admin key; 401 otherwise. */
  async login(key: string, reply: FastifyReply, tls: boolean): Promise<ConsoleSession> {
    const principal = this.d.keys().authenticate(key);
    if (!principal) throw new ApiError(401, 'unauthorized', 'unknown API key');
    if (principal.role === 'agent') throw new ApiError(403, 'forbidden', `API key "${principal.name}" is an agent key; the console is for viewers, approvers and admins`);
    const token = randomBytes(32).toString('base64url');
    const now = this.d.now();
    const s = { session_digest: digestOf(token), key_name: principal.name, csrf_token: randomBytes(24).toString('base64url'), created_at: now, expires_at: now + this.d.ttlMs() };
    await this.d.store.purgeConsoleSessions(now);
    await this.d.store.createConsoleSession(s);
    reply.header('set-cookie', cookie(tls, token, Math.floor(this.d.ttlMs() / 1000)));
    return { principal, csrf: s.csrf_token, digest: s.session_digest, expiresAt: s.expires_at };
  }

  /** The request's live session, or undefined (no cookie, unknown, expired, or its key is gone). */
  async current(req: FastifyRequest): Promise<ConsoleSession | undefined> {
    const token = cookieValue(req.headers.cookie, TLS_COOKIE) ?? cookieValue(req.headers.cookie, COOKIE);
    if (token === undefined || token === '') return undefined;
    const digest = digestOf(token);
    const row = await this.d.store.getConsoleSession(digest, this.d.now());
    if (!row) return undefined;
    const principal = this.d.keys().named(row.key_name);
    if (!principal || principal.role === 'agent') return undefined;
    return { principal, csrf: row.csrf_token, digest, expiresAt: row.expires_at };
  }

  /** The session, or 401; for anything but GET and HEAD also the CSRF token, or 403. */
  async require(req: FastifyRequest): Promise<ConsoleSession> {
    const s = await this.current(req);
    if (!s) throw new ApiError(401, 'unauthorized', 'no console session: log in');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameText(sent, s.csrf)) throw new ApiError(403, 'csrf_required', 'missing or wrong X-CSRF-Token');
    }
    return s;
  }

  async logout(s: ConsoleSession, reply: FastifyReply, tls: boolean): Promise<void> {
    await this.d.store.deleteConsoleSession(s.digest);
    reply.header('set-cookie', cookie(tls, '', 0));
  }
}

function cookie(tls: boolean, value: string, maxAge: number): string {
  // Path=/ (required by __Host-): the cookie is HttpOnly and SameSite=Strict, and only the
  // console's routes read it; the API authenticates by key alone.
  return `${tls ? TLS_COOKIE : COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${tls ? '; Secure' : ''}`;
}
