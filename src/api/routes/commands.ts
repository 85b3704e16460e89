/**
 * An agent's command queue: GET /api/registry/agents/{id}/commands (the SDK's
 * get_pending_commands: pending, unexpired, oldest first) and POST …/commands/{command_id}/ack
 * (ack_command, body {}). Commands come from the kill switch (BLOCK, UNBLOCK).
 */
import type { FastifyInstance } from 'fastify';
import { AckView, AgentIdParams, CommandParams, CommandsView } from '../agent-schemas.js';
import { commandView } from '../agent-views.js';
import { ownAgentParam, READ_ROLES } from '../auth.js';
import { requireStored, type ApiDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { errors } from '../error-docs.js';

const tags = ['kill switch'];

export function commandRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const killSwitch = () => requireStored(deps.agents.killSwitch);

  api.get('/registry/agents/:agent_id/commands', {
    config: { roles: READ_ROLES },
    schema: { tags, summary: 'Commands waiting for an agent to acknowledge them, oldest first (at most 100)', params: AgentIdParams, response: { 200: CommandsView, ...errors({ store: true, codes: ['agent_mismatch'] }) } },
  }, async (req) => {
    const agent_id = ownAgentParam(req);
    const commands = (await killSwitch().commands(agent_id)).map(commandView);
    return { agent_id, commands, count: commands.length };
  });

  api.post('/registry/agents/:agent_id/commands/:command_id/ack', {
    config: { roles: ['admin', 'agent'] },
    schema: { tags, summary: 'Acknowledge a command (idempotent; the SDK sends {})', params: CommandParams, response: { 200: AckView, ...errors({ body: true, store: true, codes: ['not_found', 'agent_mismatch'] }) } },
  }, async (req) => {
    const agent_id = ownAgentParam(req);
    const { command_id } = req.params as { command_id: string };
    const c = await killSwitch().acknowledge(agent_id, command_id);
    if (!c) throw new ApiError(404, 'not_found', `agent ${agent_id} has no command ${command_id}`);
    return { success: true, command_id, status: c.status };
  });
}
