/**
 * GET /audit/logs — the audit trail as the ASCEND SDK's query_audit_log reads it (outside /api,
 * where the SDK looks): `{events, total, page, page_size}`, newest first, paged by limit/offset.
 * Each event: `event_id, event_type, timestamp, actor, resource, action, outcome, details`.
 * Decisions are `action.decided` events (actor: the agent); the kill switch's rows are
 * `agent.blocked` / `agent.unblocked` (actor: the key that did it). Admin and viewer keys.
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditRecord, StoredAuditRecord } from '../../approvals/store/records.js';
import { pageLimit, requireLayer, type ApiDeps } from '../context.js';
import { errors } from '../error-docs.js';


const AuditLogsQuery = T.Object({
  limit: T.Optional(T.Integer({ minimum: 1, description: 'default 50, at most api.page_max' })),
  offset: T.Optional(T.Integer({ minimum: 0, default: 0 })),
  agent_id: T.Optional(T.String({ minLength: 1 })),
  event_type: T.Optional(T.String({ enum: ['action.decided', 'agent.blocked', 'agent.unblocked'] })),
});

const AuditEvent = T.Object({
  event_id: T.String(), event_type: T.String(), timestamp: T.String(), actor: T.Union([T.String(), T.Null()]),
  resource: T.String(), action: T.String(), outcome: T.String(), details: T.Object({}, { additionalProperties: true }),
}, { additionalProperties: true });

/** One audit row in the SDK's AuditEvent words. */
export function auditEvent(r: StoredAuditRecord): Record<string, unknown> {
  const decision = r.event_type === 'decision';
  return {
    event_id: String(r.id),
    event_type: decision ? 'action.decided' : r.event_type,
    timestamp: new Date(r.ts).toISOString(),
    actor: decision ? (r.agent_id === '' ? null : r.agent_id) : r.actor,
    resource: r.resource,
    action: r.action_type,
    outcome: r.decision,
    details: {
      action_id: r.action_id, agent_id: r.agent_id === '' ? null : r.agent_id, adapter: r.adapter, policy_id: r.policy_id,
      risk_score: r.risk_score, reason: r.reason, ...(r.details ?? {}),
    },
  };
}

const EVENT_TYPE: Readonly<Record<string, AuditRecord['event_type']>> = { 'action.decided': 'decision', 'agent.blocked': 'agent.blocked', 'agent.unblocked': 'agent.unblocked' };

export function auditLogRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.get('/audit/logs', {
    config: { roles: ['admin', 'viewer'] },
    schema: {
      tags: ['sdk'], summary: "The audit trail, newest first, by limit/offset (the ASCEND SDK's query_audit_log)",
      querystring: AuditLogsQuery,
      response: { 200: T.Object({ events: T.Array(AuditEvent), total: T.Integer(), page: T.Integer(), page_size: T.Integer(), limit: T.Integer(), offset: T.Integer() }), ...errors({ store: true }) },
    },
  }, async (req) => {
    const { store } = requireLayer(deps);
    const q = req.query as { limit?: number; offset?: number; agent_id?: string; event_type?: string };
    const limit = pageLimit(deps, q.limit);
    const offset = q.offset ?? 0;
    const filter = { event_type: q.event_type === undefined ? '*' as const : EVENT_TYPE[q.event_type] ?? 'decision', ...(q.agent_id ? { agent_id: q.agent_id } : {}) };
    const [page, total] = await Promise.all([store.queryAudit({ ...filter, limit, offset }), store.countAudit(filter)]);
    return { events: page.items.map(auditEvent), total, page: Math.floor(offset / limit) + 1, page_size: limit, limit, offset };
  });
}
