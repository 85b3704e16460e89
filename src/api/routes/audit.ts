/**
 * GET /api/audit (the durable decision trail, paged, newest first) and the webhook dead letters
 * (GET /api/webhooks/dead-letters, POST …/{id}/requeue).
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditRecord } from '../../approvals/store/records.js';
import { pageLimit, requireLayer, type ApiDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { AuditQuery, AuditRow, DeadLetter, DeadLetterParams, Page, PageQuery } from '../schemas.js';
import { auditView, deadLetterView } from '../views.js';
import { errors } from '../error-docs.js';

/** ISO 8601 or ms since the epoch → ms; 400 naming the field otherwise. */
function timeParam(v: string | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw new ApiError(400, 'invalid_request', `querystring.${field}: must be ISO 8601 or ms since the epoch`, field);
  return ms;
}

const page = <T>(items: T[], next?: string) => (next === undefined ? { items } : { items, next_cursor: next });

export function auditRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.get('/audit', {
    config: { roles: ['admin', 'viewer'] },
    schema: { tags: ['audit'], summary: 'Decisions, newest first; filter by action, agent, decision, time', querystring: AuditQuery, response: { 200: Page(AuditRow), ...errors({ store: true, codes: ['invalid_cursor'] }) } },
  }, async (req) => {
    const { store } = requireLayer(deps);
    const q = req.query as { action_id?: string; agent_id?: string; decision?: AuditRecord['decision']; since?: string; until?: string; limit?: number; cursor?: string };
    const since = timeParam(q.since, 'since');
    const until = timeParam(q.until, 'until');
    const r = await store.queryAudit({
      limit: pageLimit(deps, q.limit), ...(q.cursor ? { cursor: q.cursor } : {}), ...(q.action_id ? { action_id: q.action_id } : {}),
      ...(q.agent_id ? { agent_id: q.agent_id } : {}),
      ...(q.decision ? { decision: q.decision } : {}), ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}),
    });
    return page(r.items.map(auditView), r.next_cursor);
  });

  api.get('/webhooks/dead-letters', {
    config: { roles: ['admin', 'viewer'] },
    schema: { tags: ['webhooks'], summary: 'Webhook deliveries that ran out of attempts', querystring: PageQuery, response: { 200: Page(DeadLetter), ...errors({ store: true, codes: ['invalid_cursor'] }) } },
  }, async (req) => {
    const { store } = requireLayer(deps);
    const q = req.query as { limit?: number; cursor?: string };
    const r = await store.listDeadLetters({ limit: pageLimit(deps, q.limit), ...(q.cursor ? { cursor: q.cursor } : {}) });
    const webhooks = deps.state.runtime.config.webhooks;
    return page(r.items.map((row) => deadLetterView(row, webhooks)), r.next_cursor);
  });

  api.post('/webhooks/dead-letters/:id/requeue', {
    config: { roles: ['admin'] },
    schema: { tags: ['webhooks'], summary: 'Give a dead delivery a fresh set of attempts', params: DeadLetterParams, response: { 204: T.Null({ description: 'queued again' }), ...errors({ store: true, codes: ['not_found'] }) } },
  }, async (req, reply) => {
    const layer = requireLayer(deps);
    const { id } = req.params as { id: number };
    if (!(await layer.store.requeueDeadLetter(id, deps.now()))) throw new ApiError(404, 'not_found', `no dead delivery ${id}`);
    layer.delivery.notify();
    return reply.code(204).send();
  });
}
