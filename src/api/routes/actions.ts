/**
 * An action's status (GET /api/agent-action/status/{id}, and the SDK's
 * /api/v1/actions/{id}/status), its completion (POST …/complete) and its failure (POST …/fail).
 * Status is the action as it stands now (views.ts); `?wait=s` long-polls a pending action and
 * returns as soon as an approval, a timeout or a completion changes it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ACTION_READ_ROLES, assertOwnAgent, principalOf } from '../auth.js';
import { publicUrl, requireLayer, type ApiDeps } from '../context.js';
import { ApiError, found, notFound } from '../errors.js';
import { FailBody, StatusQuery } from '../sdk-schemas.js';
import { currentDecision } from '../sdk-views.js';
import { ActionIdParams, ActionView, CompleteBody } from '../schemas.js';
import { actionView, auditActionView } from '../views.js';
import { errors } from '../error-docs.js';

async function readStatus(deps: ApiDeps, req: FastifyRequest, actionId: string): Promise<{ view: Record<string, unknown>; pending: boolean }> {
  const { store } = requireLayer(deps);
  const stored = await store.getAction(actionId);
  if (!stored) {
    const row = await found(store.queryAudit({ action_id: actionId, limit: 1 }).then((p) => p.items[0]), 'action', actionId);
    assertOwnAgent(principalOf(req), row.agent_id === '' ? null : row.agent_id);
    return { view: auditActionView(row), pending: false };
  }
  assertOwnAgent(principalOf(req), stored.agent_id);
  const approval = stored.approval_id === null ? undefined : await store.getApproval(stored.approval_id);
  return { view: actionView(stored, approval, publicUrl(deps)), pending: currentDecision(stored) === 'pending' };
}

/** Status now, or — with `wait` — after the next change of a pending action (or the wait). */
async function status(deps: ApiDeps, req: FastifyRequest): Promise<Record<string, unknown>> {
  const { action_id } = req.params as { action_id: string };
  const wait = (req.query as { wait?: number }).wait ?? 0;
  if (wait === 0) return (await readStatus(deps, req, action_id)).view;
  // Watch first, then read: a change between the two still wakes us.
  const w = requireLayer(deps).watch.watch(action_id, wait * 1000);
  // A client that goes away stops the wait (the socket, not the request: a GET's request
  // stream closes as soon as it has been read).
  const cancel = () => w.cancel();
  req.socket.once('close', cancel);
  try {
    const first = await readStatus(deps, req, action_id);
    if (!first.pending) return first.view;
    return (await w.changed) ? (await readStatus(deps, req, action_id)).view : first.view;
  } finally {
    w.cancel();
    req.socket.off('close', cancel);
  }
}

async function complete(deps: ApiDeps, req: FastifyRequest, status: string, result: unknown): Promise<Record<string, unknown>> {
  const layer = requireLayer(deps);
  const p = principalOf(req);
  const { action_id } = req.params as { action_id: string };
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
}

export function actionRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const statusSchema = {
    tags: ['actions'], summary: 'Status of an action as it stands now (decision: allowed once approved, denied once denied or expired); ?wait=s long-polls',
    params: ActionIdParams, querystring: StatusQuery, response: { 200: ActionView, ...errors({ store: true, codes: ['not_found', 'agent_mismatch'] }) },
  };
  api.get('/agent-action/status/:action_id', { config: { roles: ACTION_READ_ROLES }, schema: statusSchema }, (req) => status(deps, req));
  api.get('/v1/actions/:action_id/status', { config: { roles: ACTION_READ_ROLES }, schema: { ...statusSchema, summary: `${statusSchema.summary} (the SDK's path)` } }, (req) => status(deps, req));

  api.post('/agent-action/:action_id/complete', {
    config: { roles: ['admin', 'agent'] },
    schema: {
      tags: ['actions'], summary: 'Report the outcome of an allowed or approved action (emits action.completed)',
      params: ActionIdParams, body: CompleteBody, response: { 200: ActionView, ...errors({ body: true, store: true, codes: ['not_found', 'agent_mismatch', 'invalid_state'] }) },
    },
  }, (req) => {
    const { status: outcome, result } = req.body as { status: string; result?: unknown };
    return complete(deps, req, outcome, result);
  });

  api.post('/agent-action/:action_id/fail', {
    config: { roles: ['admin', 'agent'] },
    preValidation: async (req) => { req.body ??= {}; },
    schema: {
      tags: ['actions'], summary: 'Report that an allowed or approved action failed (the SDK\'s log_action_failed; emits action.completed with status failed)',
      params: ActionIdParams, body: FailBody, response: { 200: ActionView, ...errors({ body: true, store: true, codes: ['not_found', 'agent_mismatch', 'invalid_state'] }) },
    },
  }, (req) => {
    const b = req.body as { error?: unknown; duration_ms?: number };
    const result = { error: b.error ?? null, ...(b.duration_ms !== undefined ? { duration_ms: b.duration_ms } : {}) };
    return complete(deps, req, 'failed', result);
  });
}
