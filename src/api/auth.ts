/**
 * `X-API-Key` authentication and the role check, as an onRequest hook: it runs before the body
 * is parsed or validated, so an unauthenticated caller learns nothing about the API's shape.
 * Routes declare `config: {roles}`; routes without it (and unknown routes) need any valid key.
 * Without `api_keys` in config every request is 401: the API is closed by default.
 */
import type { FastifyInstance } from 'fastify';
import type { RuntimeState } from '../pipeline/state.js';
import { ApiError } from './errors.js';
import type { ApiPrincipal, Role } from './keys.js';

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

export function installAuth(api: FastifyInstance, state: RuntimeState): void {
  api.decorateRequest('principal', null);
  api.addHook('onRequest', async (req) => {
    const raw = req.headers['x-api-key'];
    const principal = state.runtime.apiKeys.authenticate(typeof raw === 'string' ? raw : undefined);
    if (!principal) throw new ApiError(401, 'unauthorized', raw === undefined ? 'missing X-API-Key header' : 'unknown API key');
    const roles = req.routeOptions.config.roles;
    if (roles && !roles.includes(principal.role)) {
      throw new ApiError(403, 'forbidden', `API key "${principal.name}" (role ${principal.role}) may not call this; needs ${roles.join(' or ')}`);
    }
    req.principal = principal;
  });
}

/** The authenticated caller (set by the hook on every routed request). */
export function principalOf(req: { principal: ApiPrincipal | null }): ApiPrincipal {
  if (!req.principal) throw new ApiError(401, 'unauthorized', 'missing X-API-Key header');
  return req.principal;
}

/** agent keys see and act on their own agent's actions only. */
export function assertOwnAgent(p: ApiPrincipal, agentId: string | null): void {
  if (p.role === 'agent' && agentId !== p.agentId) {
    throw new ApiError(403, 'agent_mismatch', `API key "${p.name}" may only act as agent ${p.agentId}`);
  }
}
