/**
 * The error answers of each API operation, for the OpenAPI document (GET /api/docs): every
 * status an operation can answer, with the stable `error.code`s it can carry and what each
 * means — instead of one generic "Default Response" per status. Routes declare what is theirs
 * (`errors({body: true, store: true, codes: ['not_found']})`); what every route shares (keys,
 * signatures, rate limits, validation, failures) is added here, so the list cannot forget it.
 */
import { Type as T, type TSchema } from '@sinclair/typebox';
import type { ApiErrorCode } from './errors.js';

/** Each code's HTTP status and meaning: the one table the docs are built from. */
export const API_ERRORS: Readonly<Record<ApiErrorCode, readonly [number, string]>> = {
  invalid_request: [400, 'a field is missing or invalid (`error.field` names it)'],
  invalid_json: [400, 'the body is not JSON'],
  too_deep: [400, 'the JSON nests deeper than limits.max_json_depth'],
  invalid_cursor: [400, 'the cursor is not one this API gave'],
  batch_too_large: [400, 'more actions than api.batch_max'],
  target_refused: [400, 'the webhook URL is not https:// or resolves to a private, loopback or metadata address'],
  unauthorized: [401, 'no API key, or an unknown one'],
  invalid_signature: [401, 'the key signs its requests and this one is unsigned, stale or does not verify'],
  plaintext_not_allowed: [403, 'a plain-text connection from another host: keys are accepted only over TLS or from loopback (api.allow_plaintext)'],
  forbidden: [403, "the key's role may not call this"],
  agent_mismatch: [403, 'an agent key named another agent'],
  not_an_approver: [403, "the key's groups are not the current step's approvers"],
  self_approval: [403, 'the key that requested the action may not vote on it'],
  csrf_required: [403, "a console change without its session's X-CSRF-Token"],
  not_found: [404, 'no such id'],
  route_not_found: [404, 'no such route'],
  not_pending: [409, 'the approval is already decided'],
  already_voted: [409, 'this approver already voted'],
  invalid_state: [409, 'the action is not in a state that allows this'],
  webhook_exists: [409, 'a subscription for this URL exists'],
  read_only: [409, "the config's subscriptions cannot be changed through the API"],
  request_facts_required: [409, 'a gateway key forwarded fewer request facts (context.ascend_request.facts) than the policies read; x-ascend-request-facts names them'],
  body_too_large: [413, 'the body is larger than the limit'],
  unsupported_media_type: [415, 'the body is not application/json'],
  rate_limited: [429, "the key's rate limit is spent (Retry-After says when to retry)"],
  internal_error: [500, 'the sidecar failed (logged); nothing was decided'],
  store_not_configured: [501, 'this endpoint needs `store:` in the config'],
};

/** What every operation behind an API key can answer. */
const ALWAYS: readonly ApiErrorCode[] = ['unauthorized', 'plaintext_not_allowed', 'invalid_signature', 'forbidden', 'rate_limited', 'invalid_request', 'internal_error'];
const BODY: readonly ApiErrorCode[] = ['invalid_json', 'too_deep', 'body_too_large', 'unsupported_media_type'];

export interface ErrorTraits {
  /** The operation reads a JSON body. */
  readonly body?: boolean;
  /** The operation needs `store:` (501 without it). */
  readonly store?: boolean;
  /** Codes of its own (not_found, agent_mismatch, …). */
  readonly codes?: readonly ApiErrorCode[];
}

function errorSchema(codes: readonly ApiErrorCode[]): TSchema {
  const description = codes.map((c) => `\`${c}\`: ${API_ERRORS[c][1]}`).join('; ');
  return T.Object({
    error: T.Object({ code: T.String({ enum: [...codes] }), message: T.String(), field: T.Optional(T.String()) }),
    detail: T.String({ description: 'the message again, where the ASCEND SDK reads it' }),
    errors: T.Optional(T.Record(T.String(), T.String())),
    policy_violations: T.Optional(T.Array(T.String())),
  }, { description });
}

/** The error responses of one operation, by status. */
export function errors(traits: ErrorTraits = {}): Record<number, TSchema> {
  const codes = new Set<ApiErrorCode>([...ALWAYS, ...(traits.body ? BODY : []), ...(traits.store ? ['store_not_configured' as const] : []), ...(traits.codes ?? [])]);
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const c of codes) {
    const status = API_ERRORS[c][0];
    byStatus.set(status, [...(byStatus.get(status) ?? []), c]);
  }
  return Object.fromEntries([...byStatus].map(([status, list]) => [status, errorSchema(list)]));
}

/** A 429 that is either a decision (too_many_pending, in the decision's own shape) or rate_limited. */
export function decisionOr429(decision: TSchema): TSchema {
  return T.Union([decision, errors()[429] as TSchema], {
    description: 'a `too_many_pending` decision (the agent or the store holds too many pending approvals; retry-after says when to retry), or `rate_limited`',
  });
}

/** 422 for a field that is well-formed but out of range (the ASCEND SDK documents 422 there). */
export function unprocessable(what: string): TSchema {
  return { ...errors()[400] as TSchema, description: `\`invalid_request\`: ${what}` };
}
