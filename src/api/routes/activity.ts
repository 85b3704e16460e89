/**
 * The ASCEND SDK's read routes over stored actions: GET /api/v1/actions/{id} (get_action_details:
 * the action with its audit trail, `status` in the SDK's vocabulary, completion in its own field)
 * and GET /api/agent-activity (list_actions: `{items, total, limit, offset}`, newest first).
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ActionRecord, ActionStatus, ApprovalRecord, StoredAuditRecord } from '../../approvals/store/records.js';
import { ACTION_READ_ROLES, assertOwnAgent, principalOf, READ_ROLES } from '../auth.js';
import { pageLimit, publicUrl, requireLayer, type ApiDeps } from '../context.js';
import { found } from '../errors.js';
import { ActionDetailsView, ActivityQuery } from '../sdk-schemas.js';
import { sdkActionStatus } from '../sdk-views.js';
import { ActionIdParams, ActionView } from '../schemas.js';
import { actionView } from '../views.js';
import { errors } from '../error-docs.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** What happened to an action, oldest first: its evaluation, each decision answered for it, votes, the approval's outcome, completion. */
export function auditTrail(a: ActionRecord, approval: ApprovalRecord | undefined, rows: readonly StoredAuditRecord[]): Record<string, unknown>[] {
  const trail: { at: number; entry: Record<string, unknown> }[] = [
    { at: a.created_at, entry: { event: 'action.evaluated', decision: a.decision, policy_id: a.policy_id, risk_score: a.risk_score, reason: a.reason } },
  ];
  // Every check that answered for this action id (the first evaluation, gateway retries).
  for (const r of rows) trail.push({ at: r.ts, entry: { event: 'decision', adapter: r.adapter, decision: r.decision, cache_hit: r.cache_hit } });
  for (const v of approval?.votes ?? []) {
    trail.push({ at: v.at, entry: { event: 'approval.vote', actor: v.approver, vote: v.vote, comment: v.comment ?? null, step: v.step + 1 } });
  }
  if (approval && approval.state !== 'pending' && approval.decided_at !== null) {
    trail.push({ at: approval.decided_at, entry: { event: `approval.${approval.state}`, reason: approval.reason } });
  }
  if (a.completed_at !== null) trail.push({ at: a.completed_at, entry: { event: 'action.completed', status: a.completion_status } });
  return trail.sort((x, y) => x.at - y.at).map(({ at, entry }) => ({ timestamp: iso(at), ...entry }));
}

export function activityRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.get('/v1/actions/:action_id', {
    config: { roles: ACTION_READ_ROLES },
    schema: {
      tags: ['sdk'], summary: "An action with its audit trail (the ASCEND SDK's get_action_details)",
      params: ActionIdParams, response: { 200: ActionDetailsView, ...errors({ store: true, codes: ['not_found', 'agent_mismatch'] }) },
    },
  }, async (req) => {
    const { store } = requireLayer(deps);
    const { action_id } = req.params as { action_id: string };
    const a = await found(store.getAction(action_id), 'action', action_id);
    assertOwnAgent(principalOf(req), a.agent_id);
    const approval = a.approval_id === null ? undefined : await store.getApproval(a.approval_id);
    const rows = (await store.queryAudit({ action_id, limit: 100 })).items;
    const context = a.context as { agent_name?: unknown; resource_id?: unknown };
    return {
      ...actionView(a, approval, publicUrl(deps)),
      id: a.action_id,
      agent_name: typeof context.agent_name === 'string' ? context.agent_name : a.agent_id,
      resource_id: typeof context.resource_id === 'string' ? context.resource_id : null,
      status: sdkActionStatus(a, approval),
      audit_trail: auditTrail(a, approval, rows),
    };
  });

  api.get('/agent-activity', {
    config: { roles: READ_ROLES },
    schema: {
      tags: ['sdk'], summary: "Actions, newest first, paged by limit/offset (the ASCEND SDK's list_actions)",
      querystring: ActivityQuery,
      response: { 200: T.Object({ items: T.Array(ActionView), total: T.Integer(), limit: T.Integer(), offset: T.Integer() }), ...errors({ store: true, codes: ['agent_mismatch'] }) },
    },
  }, async (req) => {
    const { store } = requireLayer(deps);
    const p = principalOf(req);
    const q = req.query as { limit?: number; offset?: number; agent_id?: string; status?: ActionStatus };
    const agentId = p.role === 'agent' ? p.agentId : q.agent_id;
    if (q.agent_id !== undefined) assertOwnAgent(p, q.agent_id);
    const limit = pageLimit(deps, q.limit);
    const offset = q.offset ?? 0;
    const r = await store.listActions({ limit, offset, ...(agentId !== undefined ? { agent_id: agentId } : {}), ...(q.status ? { status: q.status } : {}) });
    return { items: r.items.map((a) => actionView(a, undefined, publicUrl(deps))), total: r.total, limit, offset };
  });
}
