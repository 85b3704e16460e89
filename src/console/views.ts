/**
 * What the console shows of an approval beyond the API's view: the risk factors behind the
 * score, the policy's name, who still has to vote in the current phase, and what happens at the
 * deadline. Factors are recomputed from the stored action under the current risk model (the
 * store keeps the score, not its breakdown), and are labelled so in the page.
 */
import { approvalView, actionView } from '../api/views.js';
import type { ApiDeps } from '../api/context.js';
import { publicUrl } from '../api/context.js';
import { currentApprovers, requiredApprovals } from '../approvals/workflow.js';
import type { ActionRecord, ApprovalRecord } from '../approvals/store/records.js';
import type { EvalInput, RequestView } from '../core/action.js';

function riskFactors(deps: ApiDeps, a: ActionRecord): { factor: string; detail: string; points: number }[] {
  const rt = deps.state.runtime;
  const method = a.binding.values['request.method'];
  const request = typeof method === 'string'
    ? { method, path: '', host: '', scheme: '', headers: {}, query: {}, sourceIp: undefined, principal: undefined } satisfies RequestView
    : undefined;
  const input: EvalInput = {
    action: { agent_id: a.agent_id === '' ? null : a.agent_id, action_type: a.action_type, resource: a.resource, parameters: a.parameters, context: a.context },
    agent: rt.mapper.agents.view(a.agent_id === '' ? null : a.agent_id, deps.state.agents.registered),
    request, risk: { score: 0 },
  };
  return rt.engine.explain(input).risk.map((f) => ({ factor: f.factor, detail: f.detail, points: f.points }));
}

/** The current phase's approvals still missing, and what its deadline does. */
function phase(ap: ApprovalRecord): { still_needed: number; on_timeout: string } {
  if (ap.state !== 'pending') return { still_needed: 0, on_timeout: 'none' };
  const counted = ap.votes.filter((v) => v.vote === 'approve' && v.step === ap.current_step && v.escalated === ap.escalated).length;
  const onTimeout = ap.escalated ? 'deny' : ap.workflow.escalation?.timeout_action ?? 'deny';
  return { still_needed: Math.max(0, requiredApprovals(ap.workflow, ap) - counted), on_timeout: onTimeout };
}

export function consoleApprovalView(deps: ApiDeps, action: ActionRecord, ap: ApprovalRecord): Record<string, unknown> {
  const policy = deps.state.runtime.config.policies.find((p) => p.id === action.policy_id);
  const agentId = action.agent_id === '' ? null : action.agent_id;
  return {
    ...approvalView(action, ap, publicUrl(deps)),
    agent_name: agentId === null ? null : deps.state.runtime.mapper.agents.view(agentId, deps.state.agents.registered).name ?? null,
    policy_name: policy?.name || null,
    risk_factors: riskFactors(deps, action),
    approver_groups: ap.state === 'pending' ? currentApprovers(ap.workflow, ap) : [],
    ...phase(ap),
  };
}

export function consoleActionView(deps: ApiDeps, action: ActionRecord, ap: ApprovalRecord | undefined): Record<string, unknown> {
  const v = actionView(action, ap, publicUrl(deps));
  return ap ? { ...v, approval: consoleApprovalView(deps, action, ap) } : { ...v, risk_factors: riskFactors(deps, action) };
}
