/**
 * What an edge sends the control plane for an action (POST /api/v1/actions/submit, the SDK's
 * AgentAction), and the key its cache and singleflight use for it. The key is a fingerprint of
 * everything the body carries, built without writing the body: a cache hit builds only the key,
 * a miss both. Inputs whose bodies differ never share a key (test/remote-cache-key.test.ts);
 * inputs whose bodies are equal may differ in key (a null and an empty agent id) — a miss, never
 * a wrong answer.
 */
import type { ActionRequest, EvalInput } from '../core/action.js';
import { FACTS_CONTEXT_KEY, type ForwardedFacts } from './request-facts.js';

/**
 * What a remote decision is taken on: the action, the gateway request's facts (undefined for an
 * action submitted to this sidecar's own API), and the key standing for the parameters when
 * there is one (EvalInput.parametersKey). An EvalInput is one.
 */
export type RemoteInput = Pick<EvalInput, 'action' | 'request' | 'parametersKey'>;

/** context.ascend_request when the control plane reads no request facts (or has not said). */
const NO_FACTS = '{"facts":[]}';

/**
 * Whether the body carries the context's member `k`: its own members but `gateway` — the
 * sidecar's own (the control plane replaces it with its caller's), left out so the key does not
 * vary with each client's address — and a client's ascend_request (replaced by the edge's own).
 * The one test of both the body (contextMembers) and the key (contextKey).
 */
function carried(ctx: Readonly<Record<string, unknown>>, k: string): boolean {
  return k !== 'gateway' && k !== FACTS_CONTEXT_KEY && Object.prototype.hasOwnProperty.call(ctx, k);
}

/**
 * The context members the body carries (carried()), written field by field rather than as a
 * copy of the context without the others.
 */
function contextMembers(ctx: Readonly<Record<string, unknown>>): string {
  let members = '';
  for (const k in ctx) {
    if (!carried(ctx, k)) continue;
    const v = JSON.stringify(ctx[k]);
    if (v === undefined) continue;
    members += (members === '' ? '' : ',') + JSON.stringify(k) + ':' + v;
  }
  return members;
}

/**
 * The request body: what the control plane evaluates. `facts`: the JSON of the request facts
 * forwarded (request-facts.ts), placed at context.ascend_request. Built on a miss only.
 */
export function submitBody(a: ActionRequest, facts?: string): string {
  let context = contextMembers(a.context);
  if (facts !== undefined) context += `${context === '' ? '' : ','}"${FACTS_CONTEXT_KEY}":${facts}`;
  const agent = a.agent_id === null || a.agent_id === '' ? '' : `"agent_id":${JSON.stringify(a.agent_id)},`;
  return `{${agent}"action_type":${JSON.stringify(a.action_type)},"resource":${JSON.stringify(a.resource)},"action_details":${JSON.stringify(a.parameters)},"context":{${context}}}`;
}

/**
 * The context part of a cache key: the members submitBody() writes, as a flat list of name,
 * value (one JSON.stringify of the whole key encodes them as the body would: JSON.stringify of
 * an array and of an object encode a value alike). A top-level value JSON.stringify leaves out
 * of an object (undefined, a function, a symbol) is left out here too, so it cannot read as
 * null. A value with its own toJSON (never in parsed JSON or rendered templates) may encode
 * differently in an array: then the members' JSON itself, a string where the list would be.
 */
function contextKey(ctx: Readonly<Record<string, unknown>>): unknown[] | string {
  const pairs: unknown[] = [];
  for (const k in ctx) {
    if (!carried(ctx, k)) continue;
    const v = ctx[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    if (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function') return contextMembers(ctx);
    pairs.push(k, v);
  }
  return pairs;
}

/** How a key says which context.ascend_request the body carries (keyOf). */
const enum FactsPart {
  /** No request (an action submitted to this sidecar's API): none. */
  None = 0,
  /** The control plane reads no request facts: NO_FACTS. */
  Empty = 1,
  /** A view another edge forwarded: the facts' JSON follows. */
  Forwarded = 2,
  /** The facts' head (their names) follows, then each one's value. */
  Values = 3,
}

/**
 * The request facts' JSON for a view another edge forwarded, which its key and its body both
 * carry whole: built once per check and handed to keyOf and bodyOf (a miss would otherwise
 * build it twice). Undefined for any other input (its key carries the facts' values instead).
 */
export function forwardedJson({ request }: RemoteInput, facts: ForwardedFacts): string | undefined {
  return request?.forwardedFacts === undefined || facts.names.length === 0 ? undefined : facts.json(request);
}

/**
 * The body for `input`, forwarding `facts` (the ones the control plane reads) from its request.
 * `forwarded`: forwardedJson(input, facts) when the caller has it.
 */
export function bodyOf({ action, request }: RemoteInput, facts: ForwardedFacts, forwarded?: string): string {
  return submitBody(action, request === undefined ? undefined : facts.names.length === 0 ? NO_FACTS : (forwarded ?? facts.json(request)));
}

/**
 * The key of bodyOf(input, facts), without writing it. One JSON.stringify of a list, like the
 * local fingerprint (fingerprint.ts): agent, action type, resource, the parameters (or, after a
 * NUL that JSON never holds, their length-prefixed parametersKey), the context's members
 * (contextKey), then which request facts go with it (FactsPart) — their names and values when
 * the gateway request carries them. The caller builds both with the same `facts` (and the
 * same `forwarded`, forwardedJson(input, facts)), so a key always stands for the body sent
 * under it.
 */
export function keyOf(input: RemoteInput, facts: ForwardedFacts, forwarded?: string): string {
  const a = input.action;
  const pk = input.parametersKey;
  const parts: unknown[] = [a.agent_id, a.action_type, a.resource, pk === undefined ? a.parameters : null, contextKey(a.context)];
  const req = input.request;
  if (req === undefined) parts.push(FactsPart.None);
  else if (facts.names.length === 0) parts.push(FactsPart.Empty);
  else if (req.forwardedFacts !== undefined) parts.push(FactsPart.Forwarded, forwarded ?? facts.json(req));
  else {
    parts.push(FactsPart.Values, facts.head);
    facts.values(req, parts);
  }
  const key = JSON.stringify(parts);
  return pk === undefined ? key : `${key}\u0000${pk.length}:${pk}`;
}
