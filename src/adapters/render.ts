/**
 * What every adapter says about a decision, in one place: the `x-ascend-*` headers
 * (docs/architecture.md, "Response headers") and the JSON denial body. Adapters only choose where to
 * put them in their protocol.
 */
import type { Decision } from '../core/decision.js';
import type { CheckResult } from '../pipeline/result.js';

export type HeaderPair = readonly [string, string];

/** Headers that go upstream on allow, or to the client with a denial. */
export function decisionHeaders(r: CheckResult): HeaderPair[] {
  const d = r.decision;
  const h: HeaderPair[] = [
    ['x-ascend-decision', d.decision],
    ['x-ascend-action-id', r.actionId],
    ['x-ascend-risk-score', String(d.riskScore)],
  ];
  if (d.policyId !== null) h.push(['x-ascend-policy-id', d.policyId]);
  if (d.flagged) h.push(['x-ascend-flagged', 'true']);
  if (d.failOpen) h.push(['x-ascend-fail-open', 'true']);
  if (d.stale === true) h.push(['x-ascend-stale', 'true']);
  if (d.monitor) h.push(['x-ascend-monitor', d.monitor.wouldBe]);
  if (r.approvalId !== undefined) h.push(['x-ascend-approval-id', r.approvalId]);
  if (r.statusUrl !== undefined) h.push(['x-ascend-status-url', r.statusUrl]);
  if (r.retryAfterSeconds !== undefined) h.push(['retry-after', String(r.retryAfterSeconds)]);
  // One A/B test: its variant (`control` | `test`); several: `name=variant, …`.
  if (r.ab !== undefined) h.push(['x-ascend-ab-variant', r.ab.length === 1 ? (r.ab[0]?.variant as string) : r.ab.map((m) => `${m.test.name}=${m.variant}`).join(', ')]);
  return h;
}

/**
 * Whether what an adapter answers depends on the result through its Decision and action id
 * alone: no approval, status URL, deadline, retry-after, A/B test or MCP message. Answers built
 * once per Decision (decisionHeaderObject, answer-json.ts) are used only then: a field a
 * renderer starts reading belongs here.
 */
export function plainResult(r: CheckResult): boolean {
  return r.approvalId === undefined && r.statusUrl === undefined && r.approval === undefined && r.review === undefined && r.retryAfterSeconds === undefined && r.ab === undefined && r.mcp === undefined;
}

/** Per Decision, its headers as first built, as one object (see decisionHeaderObject). */
const TEMPLATES = new WeakMap<Decision, Readonly<Record<string, string>>>();

/**
 * {@link decisionHeaders} as one object (name → value, in the same order). For a
 * {@link plainResult} the object is built once per (memoized) Decision and copied per check
 * with a spread (one step for an object of a known shape, where adding the names one by one
 * walks a shape transition each), and only the action id is set: no pair arrays, no number
 * formatting.
 */
export function decisionHeaderObject(r: CheckResult): Record<string, string> {
  if (!plainResult(r)) return Object.fromEntries(decisionHeaders(r));
  let template = TEMPLATES.get(r.decision);
  if (template === undefined) TEMPLATES.set(r.decision, (template = Object.fromEntries(decisionHeaders(r))));
  const out: Record<string, string> = { ...template };
  out['x-ascend-action-id'] = r.actionId; // in its place (second), over the first check's id
  return out;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * Client-sent x-ascend-* headers that our own `headers` do not overwrite (`has(headers, name)`
 * says which names they hold). `has` is a module-level function over the caller's own header
 * shape, so a check whose client sent none (nearly every one) builds nothing: no closure, no list.
 */
export function staleAscendHeaders<H>(r: CheckResult, headers: H, has: (headers: H, name: string) => boolean): readonly string[] {
  const sent = r.request?.clientAscendHeaders;
  if (sent === undefined || sent.length === 0) return NONE;
  return sent.filter((name) => !has(headers, name));
}

/** `{decision, action_id, reason, policy_id, code, approval_id?, status_url?}` as an object (Kong OPA's `message`). */
export function denialFields(r: CheckResult): Record<string, unknown> {
  const d = r.decision;
  const body: Record<string, unknown> = {
    decision: d.decision,
    action_id: r.actionId,
    reason: d.reason,
    policy_id: d.policyId,
    code: d.code,
  };
  if (r.approvalId !== undefined) body.approval_id = r.approvalId;
  if (r.statusUrl !== undefined) body.status_url = r.statusUrl;
  return body;
}

/** The JSON denial body: {@link denialFields} serialized. */
export function denialBody(r: CheckResult): string {
  return JSON.stringify(denialFields(r));
}

/** JSON-RPC error code of an ASCEND denial or pending answer (in the -32000…-32099 server-error range). */
export const MCP_ERROR_CODE = -32001;

/**
 * The JSON-RPC error answer to an MCP message that was denied or is pending: one error per
 * request id (an array for a batch; `id: null` when the message held only notifications),
 * `error.data` = {@link denialFields}, so the agent sees a tool error it can explain and quote.
 */
export function jsonRpcErrorBody(r: CheckResult): string {
  const mcp = r.mcp;
  const data = denialFields(r);
  const error = { code: MCP_ERROR_CODE, message: r.decision.reason, data };
  const one = (id: unknown) => ({ jsonrpc: '2.0', id, error });
  const ids = mcp === undefined || mcp.ids.length === 0 ? [null] : mcp.ids;
  return JSON.stringify(mcp?.batch === true ? ids.map(one) : one(ids[0]));
}

/** What a refused request is answered with: status and JSON body (a JSON-RPC error, HTTP 200, when the client speaks MCP). */
export function refusal(r: CheckResult): { status: number; body: string } {
  if (r.mcp !== undefined) return { status: 200, body: jsonRpcErrorBody(r) };
  return { status: r.decision.httpStatus, body: denialBody(r) };
}
