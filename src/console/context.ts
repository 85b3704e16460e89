/** What the console's route modules share: the API's deps, sessions, the live feed. */
import type { FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api/context.js';
import type { Role } from '../api/keys.js';
import type { ConsoleFeed } from './feed.js';
import type { ConsoleSession, ConsoleSessions } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession: ConsoleSession | null;
  }
}

export interface ConsoleContext {
  readonly deps: ApiDeps;
  readonly sessions: ConsoleSessions;
  readonly feed: ConsoleFeed;
  /** The session, checked for CSRF on changes and for one of `roles` if given. */
  session(req: FastifyRequest, roles?: readonly Role[]): Promise<ConsoleSession>;
}

