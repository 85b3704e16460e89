/**
 * Approvals: GET /api/sdk/approval/{id} (what an agent's SDK polls, the status URL of pending
 * answers), GET /api/approvals (paged), POST /api/approvals/{id}/approve|deny with {comment}.
 * An approver votes as its key's name with its key's groups; the workflow decides whether the
 * vote counts (each approver once, one denial ends it, `required` approvals complete a step).
 */
import type { FastifyInstance } from 'fastify';
import type { ApprovalRecord } from '../../approvals/store/records.js';
import type { VoteInput } from '../../approvals/service.js';
import { ACTION_READ_ROLES, assertOwnAgent, principalOf } from '../auth.js';
import { pageLimit, publicUrl, requireLayer, type ApiDeps } from '../context.js';
import { ApiError, found, notFound, type ApiErrorCode } from '../errors.js';
import { ApprovalIdParams, ApprovalsQuery, ApprovalView, Page, SdkApprovalView, VoteBody } from '../schemas.js';
import { approvalView } from '../views.js';
import { errors } from '../error-docs.js';
import type { ApiPrincipal } from '../keys.js';

const VOTE_ERRORS: Readonly<Record<string, [number, ApiErrorCode]>> = {
  not_pending: [409, 'not_pending'],
  already_voted: [409, 'already_voted'],
  not_an_approver: [403, 'not_an_approver'],
  self_approval: [403, 'self_approval'],
};

async function view(deps: ApiDeps, approval: ApprovalRecord): Promise<Record<string, unknown>> {
  const action = await requireLayer(deps).store.getAction(approval.action_id);
  if (!action) throw new Error(`approval ${approval.approval_id} has no action ${approval.action_id}`);
  return approvalView(action, approval, publicUrl(deps));
}

function voteRoute(api: FastifyInstance, deps: ApiDeps, vote: VoteInput['vote']): void {
  api.post(`/approvals/:approval_id/${vote}`, {
    config: { roles: ['admin', 'approver'] },
    // The comment is optional, and so is the body that carries it.
    preValidation: async (req) => { req.body ??= {}; },
    schema: {
      tags: ['approvals'], summary: `${vote === 'approve' ? 'Approve' : 'Deny'} with your key's approver groups`,
      params: ApprovalIdParams, body: VoteBody, response: { 200: ApprovalView, ...errors({ body: true, store: true, codes: ['not_found', 'not_an_approver', 'self_approval', 'not_pending', 'already_voted'] }) },
    },
  }, async (req) => {
    const { approval_id } = req.params as { approval_id: string };
    const comment = (req.body as { comment?: string } | undefined)?.comment ?? null;
    return view(deps, await castApprovalVote(deps, principalOf(req), { approval_id, vote, comment, via: 'api' }));
  });
}

/**
 * One approver's vote as the key's name with its groups (the API's and the console's), logged
 * and sent to the audit stream; refusals as ApiErrors.
 */
export async function castApprovalVote(
  deps: ApiDeps, p: ApiPrincipal, v: { approval_id: string; vote: VoteInput['vote']; comment: string | null; via: 'api' | 'console' },
): Promise<ApprovalRecord> {
  const { approval_id, vote, comment } = v;
  const r = await requireLayer(deps).approvals.vote({ approval_id, approver: p.name, groups: p.groups, vote, comment });
  if (!r.ok) {
    if (r.error === 'not_found') throw notFound('approval', approval_id);
    const [status, code] = VOTE_ERRORS[r.error] ?? [409, 'not_pending'];
    throw new ApiError(status, code, r.message);
  }
  const a = r.approval;
  deps.logger.info({ approval_id, approver: p.name, vote, state: a.state, via: v.via }, 'approval vote');
  deps.auditStream?.event('approval.vote', { approval_id, action_id: a.action_id, approver: p.name, groups: p.groups, vote, comment, state: a.state });
  return a;
}

/**
 * check_approval reads `status` (approved, rejected or denied, pending), who decided and why.
 * A denial is `rejected` here (the SDK's word; `state` keeps ours).
 */
function sdkApprovalFields(a: ApprovalRecord): Record<string, unknown> {
  const by = (vote: 'approve' | 'deny') => a.votes.filter((v) => v.vote === vote).map((v) => v.approver).join(', ') || null;
  return {
    state: a.state,
    status: a.state === 'denied' ? 'rejected' : a.state,
    approved_by: a.state === 'approved' ? by('approve') : null,
    rejected_by: a.state === 'denied' ? by('deny') : null,
    rejection_reason: a.state === 'denied' ? a.reason : null,
  };
}

export function approvalRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.get('/sdk/approval/:approval_id', {
    config: { roles: ACTION_READ_ROLES },
    schema: {
      tags: ['approvals'], summary: "Status of one approval, as the ASCEND SDK's check_approval reads it (status pending | approved | rejected)",
      params: ApprovalIdParams, response: { 200: SdkApprovalView, ...errors({ store: true, codes: ['not_found', 'agent_mismatch'] }) },
    },
  }, async (req) => {
    const { approval_id } = req.params as { approval_id: string };
    const approval = await found(requireLayer(deps).store.getApproval(approval_id), 'approval', approval_id);
    const v = await view(deps, approval);
    assertOwnAgent(principalOf(req), v.agent_id as string | null);
    return { ...v, ...sdkApprovalFields(approval) };
  });

  api.get('/approvals', {
    config: { roles: ['admin', 'approver', 'viewer'] },
    schema: { tags: ['approvals'], summary: 'Approvals, newest first, by status', querystring: ApprovalsQuery, response: { 200: Page(ApprovalView), ...errors({ store: true, codes: ['invalid_cursor'] }) } },
  }, async (req) => {
    const { store } = requireLayer(deps);
    const q = req.query as { status?: ApprovalRecord['state']; limit?: number; cursor?: string };
    const page = await store.listApprovals({ limit: pageLimit(deps, q.limit), ...(q.status ? { state: q.status } : {}), ...(q.cursor ? { cursor: q.cursor } : {}) });
    const items = await Promise.all(page.items.map((a) => view(deps, a)));
    return page.next_cursor === undefined ? { items } : { items, next_cursor: page.next_cursor };
  });

  voteRoute(api, deps, 'approve');
  voteRoute(api, deps, 'deny');
}
