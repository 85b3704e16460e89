/**
 * The console's approval routes: pending approvals oldest first (the one waiting longest is the
 * agent blocked longest), one action with its history, and votes. Same roles as the REST API:
 * every console role reads; approvers and admins vote, as their key's name and groups.
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requireLayer } from '../api/context.js';
import { found } from '../api/errors.js';
import { castApprovalVote } from '../api/routes/approvals.js';
import { auditView, deliveryView } from '../api/views.js';
import type { ApprovalRecord } from '../approvals/store/records.js';
import type { ConsoleContext } from './context.js';
import { consoleActionView, consoleApprovalView } from './views.js';

/** More pending approvals than this are shown as the oldest ones and a count. */
const PENDING_SHOWN = 500;
/** An action's events are a handful (pending, a decision, completion) times its subscriptions. */
const WEBHOOKS_SHOWN = 200;

const VoteBody = T.Object({ comment: T.Optional(T.String({ maxLength: 2000 })) }, { additionalProperties: false });
const Id = T.Object({ id: T.String({ minLength: 1, maxLength: 200 }) });

export function approvalRoutes(api: FastifyInstance, ctx: ConsoleContext): void {
  const { deps } = ctx;

  api.get('/approvals', async (req) => {
    await ctx.session(req);
    const { store } = requireLayer(deps);
    const pending: ApprovalRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listApprovals({ limit: 200, state: 'pending', ...(cursor ? { cursor } : {}) });
      pending.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor !== undefined && pending.length < 10 * PENDING_SHOWN);
    pending.sort((a, b) => a.requested_at - b.requested_at);
    const shown = pending.slice(0, PENDING_SHOWN);
    const items = await Promise.all(shown.map(async (ap) => {
      const action = await found(store.getAction(ap.action_id), 'action', ap.action_id);
      return consoleApprovalView(deps, action, ap);
    }));
    return { items, total: await store.countApprovals('pending'), server_time: new Date(deps.now()).toISOString() };
  });

  api.get('/actions/:id', { schema: { params: Id } }, async (req) => {
    await ctx.session(req);
    const { store } = requireLayer(deps);
    const { id } = req.params as { id: string };
    const action = await found(store.getAction(id), 'action', id);
    const approval = action.approval_id === null ? undefined : await store.getApproval(action.approval_id);
    const [history, sent] = await Promise.all([
      store.queryAudit({ limit: 100, event_type: '*', action_id: id }), store.listOutboxForAction(id, WEBHOOKS_SHOWN),
    ]);
    const subs = requireLayer(deps).webhooks.all();
    return {
      ...consoleActionView(deps, action, approval), history: history.items.map(auditView),
      webhooks: sent.map((r) => deliveryView(r, subs)), server_time: new Date(deps.now()).toISOString(),
    };
  });

  for (const vote of ['approve', 'deny'] as const) {
    api.post(`/approvals/:id/${vote}`, { schema: { params: Id, body: VoteBody }, preValidation: async (req) => { req.body ??= {}; } }, async (req) => {
      const s = await ctx.session(req, ['admin', 'approver']);
      const { id } = req.params as { id: string };
      const comment = (req.body as { comment?: string }).comment?.trim() || null;
      const a = await castApprovalVote(deps, s.principal, { approval_id: id, vote, comment, via: 'console' });
      const action = await found(requireLayer(deps).store.getAction(a.action_id), 'action', a.action_id);
      return consoleApprovalView(deps, action, a);
    });
  }
}
