/**
 * The agent registry: POST /api/registry/agents (the SDK's register: idempotent, 201 the first
 * time, 200 after), GET (list, one), PUT (update; the SDK's link_model_to_agent sends
 * {model_id}) and DELETE (deregister: 200 with a JSON body, which the SDK requires). Registered
 * agents take part in policy conditions on every path at once; the config's `agents:` entry
 * wins a clash. An agent key registers, updates and deregisters only its own agent.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor, AgentPatch, Registration } from '../../registry/registration.js';
import { AgentIdParams, AgentView, DeletedView, RegisteredView, RegisterBody, UpdateBody, UpdatedView } from '../agent-schemas.js';
import { agentView } from '../agent-views.js';
import { assertOwnAgent, ownAgentParam, principalOf, READ_ROLES } from '../auth.js';
import { pageLimit, requireStored, type ApiDeps } from '../context.js';
import { ApiError, found, notFound } from '../errors.js';
import { Page, PageQuery } from '../schemas.js';
import { errors } from '../error-docs.js';

const tags = ['agents'];
const WRITERS = ['admin', 'agent'] as const;

/** Who is writing: an admin key, or (owning the agent, checked by the caller) the agent's own key. */
function actorOf(req: FastifyRequest): Actor {
  const p = principalOf(req);
  return { name: p.name, admin: p.role === 'admin' };
}

export function registryRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const registry = () => requireStored(deps.agents.registry);
  const view = (a: Parameters<typeof agentView>[0]) => agentView(a, deps.agents);

  api.post('/registry/agents', {
    config: { roles: WRITERS },
    schema: { tags, summary: 'Register an agent (idempotent: 201 the first time, then 200 with the record)', body: RegisterBody, response: { 200: RegisteredView, 201: RegisteredView, ...errors({ body: true, store: true, codes: ['agent_mismatch'] }) } },
  }, async (req, reply) => {
    const body = req.body as Registration;
    assertOwnAgent(principalOf(req), body.agent_id);
    const actor = actorOf(req);
    const { agent, created } = await registry().register(body, actor);
    deps.logger.info({ agent_id: agent.agent_id, api_key: actor.name, created }, 'agent registered');
    return reply.code(created ? 201 : 200).send({ ...view(agent), created });
  });

  api.get('/registry/agents', {
    config: { roles: READ_ROLES },
    schema: { tags, summary: 'Registered agents by id (agent keys: their own)', querystring: PageQuery, response: { 200: Page(AgentView), ...errors({ store: true, codes: ['invalid_cursor'] }) } },
  }, async (req) => {
    const p = principalOf(req);
    if (p.agentId !== undefined) {
      const own = await registry().get(p.agentId);
      return { items: own ? [view(own)] : [] };
    }
    const q = req.query as { limit?: number; cursor?: string };
    const page = await registry().list({ limit: pageLimit(deps, q.limit), ...(q.cursor ? { cursor: q.cursor } : {}) });
    const items = page.items.map(view);
    return page.next_cursor === undefined ? { items } : { items, next_cursor: page.next_cursor };
  });

  api.get('/registry/agents/:agent_id', {
    config: { roles: READ_ROLES },
    schema: { tags, summary: 'One registered agent', params: AgentIdParams, response: { 200: AgentView, ...errors({ store: true, codes: ['not_found', 'agent_mismatch'] }) } },
  }, async (req) => {
    const id = ownAgentParam(req);
    return view(await found(registry().get(id), 'registered agent', id));
  });

  api.put('/registry/agents/:agent_id', {
    config: { roles: WRITERS },
    schema: { tags, summary: 'Update a registered agent (e.g. link a model: {model_id})', params: AgentIdParams, body: UpdateBody, response: { 200: UpdatedView, ...errors({ body: true, store: true, codes: ['not_found', 'agent_mismatch'] }) } },
  }, async (req) => {
    const id = ownAgentParam(req);
    const r = await registry().update(id, req.body as AgentPatch, actorOf(req));
    if (!r.ok && r.error === 'not_found') throw notFound('registered agent', id);
    if (!r.ok) throw new ApiError(403, 'forbidden', `${r.fields.join(', ')} of agent ${id} were set by an admin key; only an admin key may change them`);
    return { success: true, agent: view(r.agent), message: `agent ${id} updated` };
  });

  api.delete('/registry/agents/:agent_id', {
    config: { roles: WRITERS },
    schema: { tags, summary: 'Deregister an agent (a kill-switch block on it stays)', params: AgentIdParams, response: { 200: DeletedView, ...errors({ store: true, codes: ['not_found', 'agent_mismatch'] }) } },
  }, async (req) => {
    const id = ownAgentParam(req);
    const actor = actorOf(req);
    if (!(await registry().deregister(id))) throw notFound('registered agent', id);
    deps.logger.info({ agent_id: id, api_key: actor.name }, 'agent deregistered');
    return { success: true, agent_id: id, message: `agent ${id} deregistered` };
  });
}
