/** GET /api/agent-action/status/{action_id} and POST /api/agent-action/{action_id}/complete. */
import type { FastifyInstance } from 'fastify';
import { assertOwnAgent, principalOf, READ_ROLES } from '../auth.js';
import { publicUrl, requireLayer, type ApiDeps } from '../context.js';
import { ApiError, ErrorViewRefs, found, notFound } from '../errors.js';
import { ActionIdParams, ActionView, CompleteBody } from '../schemas.js';
import { actionView, auditActionView } from '../views.js';

export function actionRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.get('/agent-action/status/:action_id', {
    config: { roles: READ_ROLES },
    schema: { tags: ['actions'], summary: 'Status of an action (and of its approval); gateway decisions without an approval come from the audit trail', params: ActionIdParams, response: { 200: ActionView, ...ErrorViewRefs } },
  }, async (req) => {
    const { store } = requireLayer(deps);
    const { action_id } = req.params as { action_id: string };
    const stored = await store.getAction(action_id);
    if (!stored) {
      const row = await found(store.queryAudit({ action_id, limit: 1 }).then((p) => p.items[0]), 'action', action_id);
      assertOwnAgent(principalOf(req), row.agent_id === '' ? null : row.agent_id);
      return auditActionView(row);
    }
    assertOwnAgent(principalOf(req), stored.agent_id);
    const approval = stored.approval_id === null ? undefined : await store.getApproval(stored.approval_id);
    return actionView(stored, approval, publicUrl(deps));
  });

  api.post('/agent-action/:action_id/complete', {
    config: { roles: ['admin', 'agent'] },
    schema: {
      tags: ['actions'], summary: 'Report the outcome of an allowed or approved action (emits action.completed)',
      params: ActionIdParams, body: CompleteBody, response: { 200: ActionView, ...ErrorViewRefs },
    },
  }, async (req) => {
    const layer = requireLayer(deps);
    const p = principalOf(req);
    const { action_id } = req.params as { action_id: string };
    const { status, result } = req.body as { status: string; result?: unknown };
    assertOwnAgent(p, (await found(layer.store.getAction(action_id), 'action', action_id)).agent_id);
    const r = await layer.approvals.complete({ action_id, status, result });
    if (!r.ok) {
      if (r.error === 'not_found') throw notFound('action', action_id);
      throw new ApiError(409, 'invalid_state', `action ${action_id} is ${r.action?.status}; only allowed or approved actions can be completed`);
    }
    if (r.changed) {
      deps.logger.info({ action_id, agent_id: r.action.agent_id, status, api_key: p.name }, 'action completed');
      deps.auditStream?.event('action.completed', { action_id, agent_id: r.action.agent_id, status, api_key: p.name });
    }
    return actionView(r.action, undefined, publicUrl(deps));
  });
}
