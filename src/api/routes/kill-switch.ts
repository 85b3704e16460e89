/**
 * The kill switch: POST /api/registry/agents/{id}/kill-switch {reason} blocks an agent on every
 * path at once (decision denied, code agent_blocked) and DELETE lifts the block (admin keys);
 * GET /api/sdk/kill-switch/status is what the SDK polls (it sends no agent id: an agent key
 * reads its own agent). Status works without `store:` (nothing can be blocked then).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KillSwitchOutcome } from '../../registry/kill-switch.js';
import { AgentIdParams, KillSwitchBody, KillSwitchChangeView, KillSwitchView, LiftBody, StatusQuery } from '../agent-schemas.js';
import { commandView, killSwitchView } from '../agent-views.js';
import { agentOf, principalOf, READ_ROLES } from '../auth.js';
import { requireStored, type ApiDeps } from '../context.js';
import { errors } from '../error-docs.js';


const tags = ['kill switch'];

function changeView(agentId: string, o: KillSwitchOutcome): Record<string, unknown> {
  return { ...killSwitchView(agentId, o.block), changed: o.changed, command: o.command ? commandView(o.command) : null };
}

export function killSwitchRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const killSwitch = () => requireStored(deps.agents.killSwitch);
  const change = (req: FastifyRequest) => ({ agent_id: (req.params as { agent_id: string }).agent_id, actor: principalOf(req).name });

  api.post('/registry/agents/:agent_id/kill-switch', {
    config: { roles: ['admin'] },
    schema: { tags, summary: 'Block an agent on every path until lifted (queues a BLOCK command; emits agent.blocked)', params: AgentIdParams, body: KillSwitchBody, response: { 200: KillSwitchChangeView, ...errors({ body: true, store: true, codes: ['not_found'] }) } },
  }, async (req) => {
    const c = { ...change(req), reason: (req.body as { reason: string }).reason };
    const o = await killSwitch().block(c);
    deps.logger.warn({ agent_id: c.agent_id, api_key: c.actor, reason: c.reason, changed: o.changed }, 'kill switch: agent blocked');
    return changeView(c.agent_id, o);
  });

  api.delete('/registry/agents/:agent_id/kill-switch', {
    config: { roles: ['admin'] },
    // The reason is optional, and so is the body that carries it.
    preValidation: async (req) => { req.body ??= {}; },
    schema: { tags, summary: 'Lift a block (queues an UNBLOCK command; emits agent.unblocked)', params: AgentIdParams, body: LiftBody, response: { 200: KillSwitchChangeView, ...errors({ body: true, store: true, codes: ['not_found'] }) } },
  }, async (req) => {
    const c = { ...change(req), reason: (req.body as { reason?: string }).reason ?? null };
    const o = await killSwitch().unblock(c);
    deps.logger.warn({ agent_id: c.agent_id, api_key: c.actor, changed: o.changed }, 'kill switch: block lifted');
    return changeView(c.agent_id, o);
  });

  api.get('/sdk/kill-switch/status', {
    config: { roles: READ_ROLES },
    schema: { tags, summary: 'Whether an agent is blocked (what the SDK polls; agent keys: their own agent)', querystring: StatusQuery, response: { 200: KillSwitchView, ...errors({ codes: ['agent_mismatch'] }) } },
  }, async (req) => {
    const agentId = agentOf(principalOf(req), (req.query as { agent_id?: string }).agent_id, { part: 'querystring', field: 'agent_id' });
    return killSwitchView(agentId, deps.agents.directory.blocked.get(agentId));
  });
}
