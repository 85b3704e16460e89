/**
 * API-key authentication and the role check, as an onRequest hook: it runs before the body
 * is parsed or validated, so an unauthenticated caller learns nothing about the API's shape.
 * The key comes in `X-API-Key` or as `Authorization: Bearer <key>` (the ASCEND SDK sends both,
 * with the same key); two different keys in one request are refused.
 * Routes declare `config: {roles}`; routes without it (and unknown routes) need any valid key.
 * Without `api_keys` in config every request is 401: the API is closed by default.
 * An authenticated key then takes a token from its rate limit (rate-limit.ts), if it has one.
 * Before any of that, a plain-text connection from another host is refused 403
 * plaintext_not_allowed (unless api.allow_plaintext): a key sent in the clear is a key given away.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { RuntimeState } from '../pipeline/state.js';
import { ApiError } from './errors.js';
import type { ApiPrincipal, Role } from './keys.js';
import type { RateLimitCheck } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal | null;
  }
  interface FastifyContextConfig {
    roles?: readonly Role[];
  }
}

/** Every role may read an action or an approval (agent keys only their own agent's). */
export const READ_ROLES: readonly Role[] = ['admin', 'approver', 'agent', 'viewer'];

/**
 * Reading one action or one approval: every role, and `gateway` keys (edge sidecars, which
 * submit and read actions for any agent and may call nothing that does not list them).
 */
export const ACTION_READ_ROLES: readonly Role[] = [...READ_ROLES, 'gateway'];

export function installAuth(api: FastifyInstance, state: RuntimeState, limits: RateLimitCheck): void {
  api.decorateRequest('principal', null);
  api.addHook('onRequest', async (req) => {
    if (!state.runtime.config.api.allow_plaintext && !keySafeOn(req.raw.socket)) {
      throw new ApiError(403, 'plaintext_not_allowed', 'API keys are accepted only over TLS (server.tls) or from loopback; set api.allow_plaintext: true if a proxy in front of the sidecar terminates TLS');
    }
    const raw = presentedKey(req.headers);
    const keys = state.runtime.apiKeys;
    const principal = keys.authenticate(raw);
    if (!principal) throw new ApiError(401, 'unauthorized', raw === undefined ? 'missing X-API-Key header (or Authorization: Bearer)' : 'unknown API key');
    limits.check(principal.name, keys.rules(principal.name).rateLimit);
    // Set before the role check, so a refusal's log line can name the key.
    req.principal = principal;
    const roles = req.routeOptions.config.roles;
    if (!roleMayCall(principal, roles)) {
      const needs = roles === undefined ? 'a role other than gateway' : roles.join(' or ');
      throw new ApiError(403, 'forbidden', `API key "${principal.name}" (role ${principal.role}) may not call this; needs ${needs}`);
    }
  });
}

/** A gateway key is an edge's: only the routes that name the role (submit, read an action). */
function roleMayCall(p: ApiPrincipal, roles: readonly Role[] | undefined): boolean {
  return roles === undefined ? p.role !== 'gateway' : roles.includes(p.role);
}

/**
 * The principal of a request the hook above lets through to a route with `roles` without an
 * answer of its own — a connection a key may travel on, a known key, a role the route lists —
 * or undefined for every request the hook would refuse. No side effect: the caller takes the
 * rate-limit token itself (the fast path, api/fast-submit.ts, leaves refusals to the hook).
 */
export function admittedPrincipal(state: RuntimeState, socket: Socket, headers: Record<string, string | string[] | undefined>, roles: readonly Role[]): ApiPrincipal | undefined {
  const rt = state.runtime;
  if (!rt.config.api.allow_plaintext && !keySafeOn(socket)) return undefined;
  const principal = rt.apiKeys.authenticate(presentedKey(headers));
  return principal !== undefined && roleMayCall(principal, roles) ? principal : undefined;
}

/**
 * Whether a key may travel on this connection: TLS, or a loopback peer (the same host, e.g. a
 * gateway in the pod). Anything else is plain text on a network someone else may read.
 */
export function keySafeOn(socket: Socket): boolean {
  if ((socket as Partial<TLSSocket>).encrypted === true) return true;
  const peer = socket.remoteAddress;
  if (peer === undefined) return false;
  return peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The key a request presents; '' (refused) when X-API-Key and the bearer token disagree. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const h = headers['x-api-key'];
  const header = typeof h === 'string' ? h : undefined;
  const a = headers.authorization;
  const bearer = typeof a === 'string' ? BEARER.exec(a)?.[1] : undefined;
  if (header !== undefined && bearer !== undefined && header !== bearer) return '';
  return header ?? bearer;
}

/** The authenticated caller (set by the hook on every routed request). */
export function principalOf(req: { principal: ApiPrincipal | null }): ApiPrincipal {
  if (!req.principal) throw new ApiError(401, 'unauthorized', 'missing X-API-Key header');
  return req.principal;
}

/** The agent an agent key acts as when a request names none; other keys must name one. */
export function agentOf(p: ApiPrincipal, named: string | null | undefined, at: { part: 'body' | 'querystring'; field: string }): string {
  const agentId = named ?? p.agentId;
  if (agentId === undefined) throw new ApiError(400, 'invalid_request', `${at.part}.${at.field}: is required with ${p.role} keys`, at.field);
  assertOwnAgent(p, agentId);
  return agentId;
}

/** The `agent_id` path parameter, which an agent key may only name as its own agent. */
export function ownAgentParam(req: { principal: ApiPrincipal | null; params: unknown }): string {
  const { agent_id } = req.params as { agent_id: string };
  assertOwnAgent(principalOf(req), agent_id);
  return agent_id;
}

/** agent keys see and act on their own agent's actions only. */
export function assertOwnAgent(p: ApiPrincipal, agentId: string | null): void {
  if (p.role === 'agent' && agentId !== p.agentId) {
    throw new ApiError(403, 'agent_mismatch', `API key "${p.name}" may only act as agent ${p.agentId}`);
  }
}
