/**
 * Heartbeats: POST /api/agents/health/heartbeat (the SDK's heartbeat; `agent_id` may be null,
 * then the agent key's own agent) and GET /api/agents/health/{agent_id} (the SDK's
 * get_agent_status). Thresholds in registry/health-status.ts. They work without `store:` too,
 * in memory.
 */
import type { FastifyInstance } from 'fastify';
import type { Heartbeat } from '../../registry/heartbeats.js';
import { AgentIdParams, HealthView, HeartbeatBody } from '../agent-schemas.js';
import { healthView } from '../agent-views.js';
import { agentOf, ownAgentParam, principalOf, READ_ROLES } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { errors } from '../error-docs.js';


const tags = ['agents'];

export function healthRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const { heartbeats } = deps.agents;

  api.post('/agents/health/heartbeat', {
    config: { roles: ['admin', 'agent'] },
    schema: { tags, summary: 'Report that an agent is alive (agent keys: their own agent)', body: HeartbeatBody, response: { 200: HealthView, ...errors({ body: true, codes: ['agent_mismatch'] }) } },
  }, async (req) => {
    const body = req.body as Omit<Heartbeat, 'agent_id'> & { agent_id?: string | null };
    const agentId = agentOf(principalOf(req), body.agent_id, { part: 'body', field: 'agent_id' });
    const hb = await heartbeats.beat({ ...body, agent_id: agentId });
    return healthView(agentId, hb, deps.now());
  });

  api.get('/agents/health/:agent_id', {
    config: { roles: READ_ROLES },
    schema: { tags, summary: 'Health of an agent from its heartbeats: healthy, stale, offline or unknown', params: AgentIdParams, response: { 200: HealthView, ...errors({ codes: ['agent_mismatch'] }) } },
  }, async (req) => {
    const agent_id = ownAgentParam(req);
    return healthView(agent_id, await heartbeats.last(agent_id), deps.now());
  });
}
