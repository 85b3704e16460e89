/**
 * The ASCEND SDK's evaluation routes over the one pipeline (adapter `api`):
 * POST /api/v1/actions/submit (evaluate_action: the SDK's AgentAction in, its
 * AuthorizationDecision out) and POST /api/v1/mcp/actions/submit (evaluate_mcp_action, answered
 * in that endpoint's own `status`/`success`/`requires_approval` shape).
 */
import type { FastifyInstance } from 'fastify';
import type { ActionRequest, RequestView } from '../../core/action.js';
import type { ReplyLike } from '../../http/fast-routes.js';
import { FACTS_CONTEXT_KEY, FACTS_HEADER, requestFromFacts } from '../../evaluator/request-facts.js';
import { agentOf, principalOf } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { ApiError } from '../errors.js';
import type { ApiPrincipal } from '../keys.js';
import { McpDecisionView, McpSubmitBody, SdkDecisionView, SubmitBody } from '../sdk-schemas.js';
import { answer, apiContext, evaluate } from './authorization.js';
import type { CheckResult } from '../../pipeline/result.js';
import { isCacheable } from '../../core/decision.js';
import { FAULT_CODES } from '../../core/errors.js';

/**
 * How long an edge (evaluator.mode remote) may reuse this answer: as long as this sidecar's
 * own cache would (cache.ttl_ms), for the decisions it would cache; never a pending answer, one
 * an approval decided, one of a blocked agent, or one a fault decided.
 */
export function cacheControl(deps: ApiDeps, reply: ReplyLike, r: CheckResult): CheckResult {
  const c = deps.state.runtime.config.cache;
  // A fault's answer (this sidecar's own control plane away, a store error) is never kept: the
  // edge would serve it after the fault is over.
  const d = r.decision;
  const reusable = c.enabled && c.ttl_ms >= 1000 && isCacheable(d) && r.approvalId === undefined && d.code !== 'agent_blocked' && !FAULT_CODES.has(d.code);
  void reply.header('cache-control', reusable ? `private, max-age=${Math.floor(c.ttl_ms / 1000)}` : 'no-store');
  return r;
}
import { decisionOr429, errors, unprocessable } from '../error-docs.js';

export const SUBMIT_ROLES = ['admin', 'agent', 'gateway'] as const;
const MAX_ORCHESTRATION_DEPTH = 5;

/** The SDK sends "unknown" when its client has no agent id: an agent key then acts as itself. */
function namedAgent(p: ApiPrincipal, agentId: string | undefined): string | undefined {
  return agentId === 'unknown' && p.role === 'agent' ? undefined : agentId;
}

/** `o` without its undefined and null members (`o` is one of ours: fixed field names). */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out;
}

/**
 * The request facts an edge forwarded (context.ascend_request, evaluator/request-facts.ts), for
 * a `gateway` key only: its caller is a sidecar that saw the request. Any other key's copy is
 * dropped unread — an agent must not be able to claim the method, headers or source address a
 * policy trusts. A gateway key is also told which facts the policies read (x-ascend-request-facts),
 * and a body that forwarded fewer is refused (409 request_facts_required) rather than decided
 * without them.
 */
export function forwardedRequest(deps: ApiDeps, p: ApiPrincipal, b: SubmitBody, reply: ReplyLike): RequestView | undefined {
  if (p.role !== 'gateway') return undefined;
  const needed = deps.pipeline.requestFacts();
  void reply.header(FACTS_HEADER, needed.header);
  const raw = (b.context as Record<string, unknown> | undefined)?.[FACTS_CONTEXT_KEY];
  if (raw === undefined) return undefined; // an SDK client with a gateway key: no request, as for any submission
  const f = requestFromFacts(raw);
  if (f === undefined) throw new ApiError(422, 'invalid_request', `body.context.${FACTS_CONTEXT_KEY}: must be {facts: [names], method?, path?, host?, scheme?, source_ip?, principal?, headers?, query?}`, `context.${FACTS_CONTEXT_KEY}`);
  const missing = needed.names.filter((n) => !f.sent.has(n));
  if (missing.length > 0) throw new ApiError(409, 'request_facts_required', `the policies read request facts this body did not forward: ${missing.join(', ')} (${FACTS_HEADER} names them all)`);
  return f.request;
}

/**
 * After the evaluation, a gateway key is told the request facts again: a sidecar evaluating
 * remotely may have just learned what its own control plane reads (a chain of edges).
 */
export function factsAfter(deps: ApiDeps, p: ApiPrincipal, reply: ReplyLike): void {
  if (p.role === 'gateway') void reply.header(FACTS_HEADER, deps.pipeline.requestFacts().header);
}

/** The client's context without ascend_request (read by forwardedRequest, never a context field). */
function ownContext(context: unknown): Record<string, unknown> | undefined {
  const c = context as Record<string, unknown> | undefined;
  if (c === undefined || !Object.prototype.hasOwnProperty.call(c, FACTS_CONTEXT_KEY)) return c;
  const { [FACTS_CONTEXT_KEY]: _facts, ...rest } = c;
  return rest;
}

/** AgentAction → action: `action_details` are the parameters; client risk fields are ignored. */
export function submittedAction(p: ApiPrincipal, b: SubmitBody): ActionRequest {
  const depth = b.orchestration_depth;
  if (depth !== undefined && (depth < 0 || depth > MAX_ORCHESTRATION_DEPTH)) {
    throw new ApiError(422, 'invalid_request', `body.orchestration_depth: must be between 0 and ${MAX_ORCHESTRATION_DEPTH}`, 'orchestration_depth');
  }
  const orchestration = defined({ session_id: b.orchestration_session_id, parent_action_id: b.parent_action_id, depth });
  const extra = defined({
    agent_name: b.agent_name, resource_id: b.resource_id, mcp_server_name: b.mcp_server_name, model_id: b.model_id,
    ...(Object.keys(orchestration).length ? { orchestration } : {}),
  });
  // A gateway (edge) key forwards what its gateway saw: a request no identity source named is
  // evaluated as unidentified, as it would be at the edge.
  const unidentified = p.role === 'gateway' && b.agent_id === undefined;
  return {
    agent_id: unidentified ? null : agentOf(p, namedAgent(p, b.agent_id), { part: 'body', field: 'agent_id' }),
    action_type: b.action_type,
    resource: b.resource,
    parameters: (b.action_details as Record<string, unknown> | undefined) ?? {},
    context: apiContext(p, ownContext(b.context), extra),
  };
}

/** evaluate_mcp_action → action: `namespace.verb` unless action_type is given; MCP facts in context.mcp. */
function mcpAction(p: ApiPrincipal, b: McpSubmitBody): ActionRequest {
  const mcp = defined({ server: b.mcp_server, namespace: b.namespace, verb: b.verb, tool_name: b.tool_name, description: b.description });
  const extra = defined({ mcp, environment: b.environment });
  return {
    agent_id: p.agentId ?? null,
    action_type: b.action_type ?? `${b.namespace}.${b.verb}`,
    resource: b.resource,
    parameters: (b.parameters as Record<string, unknown> | undefined) ?? {},
    context: apiContext(p, b.context as Record<string, unknown> | undefined, extra),
  };
}

/** POST /api/v1/actions/submit's body and answers (the fast path serializes with the same). */
export const SUBMIT_SCHEMA = {
  body: SubmitBody,
  response: { ...errors({ body: true, codes: ['agent_mismatch', 'request_facts_required'] }), 200: SdkDecisionView, 429: decisionOr429(SdkDecisionView), 422: unprocessable('orchestration_depth outside 0–5') },
};

export function submitRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.post('/v1/actions/submit', {
    config: { roles: SUBMIT_ROLES },
    schema: { tags: ['sdk'], summary: "Evaluate an action (the ASCEND SDK's evaluate_action): decision allowed | denied | pending", ...SUBMIT_SCHEMA },
  }, async (req, reply) => {
    const p = principalOf(req);
    const body = req.body as SubmitBody;
    const request = forwardedRequest(deps, p, body, reply);
    const r = await evaluate(deps, submittedAction(p, body), request);
    factsAfter(deps, p, reply);
    return answer(reply, cacheControl(deps, reply, r));
  });

  api.post('/v1/mcp/actions/submit', {
    config: { roles: SUBMIT_ROLES },
    schema: {
      tags: ['sdk'], summary: "Evaluate an MCP tool call (the ASCEND SDK's evaluate_mcp_action)",
      body: McpSubmitBody, response: { ...errors({ body: true }), 200: McpDecisionView, 429: decisionOr429(McpDecisionView) },
    },
  }, async (req, reply) => {
    const v = answer(reply, cacheControl(deps, reply, await evaluate(deps, mcpAction(principalOf(req), req.body as McpSubmitBody))));
    return { ...v, status: v.decision, success: v.decision !== 'denied', requires_approval: v.decision === 'pending' };
  });
}
