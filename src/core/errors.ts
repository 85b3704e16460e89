/**
 * The failure vocabulary: every stable snake_case code the sidecar answers with, in one place.
 * A code is the `code` field of a decision and of every error body, and the `reason` label on
 * `ascend_authz_errors_total`; once published it never changes. Adding a code here is the only
 * way to use a new one (every producer is typed by these unions).
 *
 * A deny is a decision, not an error: policy outcomes have their own codes (PolicyCode). The
 * rest are failures, grouped by who caused them, because that decides what happens next:
 * input errors are always denied; the sidecar's own faults follow `fail_mode`.
 */

/** What a policy, the default, monitor mode or the approval flow decided. */
export type PolicyCode =
  | 'policy_allow'
  | 'policy_flag'
  | 'policy_deny'
  | 'approval_required'
  | 'default_allow'
  | 'default_deny'
  | 'monitor_allow'
  | 'approval_granted'
  | 'approval_denied'
  /** A control plane (evaluator.mode remote) decided, with a code this sidecar does not know. */
  | 'remote_allow'
  | 'remote_deny'
  /** An MCP message with nothing governed (initialize, ping, lists, notifications): allowed without policy. */
  | 'mcp_ungoverned';

/** The request itself is malformed: denied with HTTP 400, whatever `fail_mode` says. */
export type RequestErrorCode =
  | 'invalid_path'
  | 'encoded_slash'
  | 'invalid_encoding'
  | 'invalid_host'
  | 'invalid_method'
  | 'invalid_header'
  | 'invalid_agent_id'
  | 'invalid_request'
  /** A value a threshold (gt/gte/lt/lte) compares is not a plain decimal number. */
  | 'invalid_number'
  /** A parameter the config reads was given twice, as `key[]=`, or inside a `;`-separated pair. */
  | 'ambiguous_parameter'
  /** A JSON document nests deeper than limits.max_json_depth. */
  | 'too_deep'
  /** A body the route reads is not JSON or form data the sidecar can parse, or is too large (routes[].body.on_invalid: deny). */
  | 'invalid_body'
  /** A condition or template reads a body the gateway marked partial (Envoy x-envoy-auth-partial-body, Kong body_truncated). */
  | 'body_truncated'
  /** The body on an `mcp` route is not a JSON-RPC 2.0 message or batch. */
  | 'invalid_mcp';

/** Refused before evaluation: the body, its size or type, or the caller is not acceptable. */
export type AdmissionCode =
  | 'invalid_json'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'too_many_headers'
  /** A gateway endpoint called from outside gateway_access.allowed_peers (403). */
  | 'peer_not_allowed'
  /** gateway_access.token is set and the call did not carry it (401). */
  | 'gateway_token_required';

/** Denied because of who asks or how much is waiting, not because of what is asked. */
export type AgentDenialCode =
  /** The agent's kill switch is on. */
  | 'agent_blocked'
  /** An approval would be needed but the caller has no identity to own it. */
  | 'identity_required'
  /** approvals.max_pending_per_agent or max_pending_total reached (429). */
  | 'too_many_pending';

/** The sidecar's own faults: answered per `fail_mode` (never something an agent can cause). */
export type FaultCode =
  | 'evaluation_error'
  | 'store_error'
  | 'deadline_exceeded'
  | 'internal_error'
  /** evaluator.mode remote: the control plane did not answer in time (refused, reset, blackholed, 5xx, breaker open). */
  | 'control_plane_unavailable'
  /** The decision that records an allow made only because of a fault under fail_mode open. */
  | 'fail_open';

/** The FaultCode values: decisions a fault made (per fail_mode), not a policy. */
export const FAULT_CODES: ReadonlySet<string> = new Set<FaultCode>(['evaluation_error', 'store_error', 'deadline_exceeded', 'internal_error', 'control_plane_unavailable', 'fail_open']);

/** Failures only the REST API answers (HTTP status in api/errors.ts). */
export type ApiFailureCode =
  | 'unauthorized' | 'plaintext_not_allowed' | 'forbidden' | 'agent_mismatch' | 'not_an_approver' | 'self_approval'
  | 'invalid_cursor' | 'batch_too_large' | 'invalid_signature' | 'target_refused'
  | 'not_found' | 'route_not_found' | 'not_pending' | 'already_voted' | 'invalid_state' | 'webhook_exists' | 'read_only'
  | 'store_not_configured' | 'rate_limited' | 'csrf_required'
  /** An edge forwarded fewer request facts than the control plane's policies read (it asks again with them). */
  | 'request_facts_required';

export type FailureCode = RequestErrorCode | AdmissionCode | AgentDenialCode | FaultCode | ApiFailureCode;

/** The `code` of a decision. */
export type DecisionCode = PolicyCode | RequestErrorCode | AdmissionCode | AgentDenialCode | FaultCode;

/** The request itself is malformed: it is denied with HTTP 400 and this reason. */
export class RequestError extends Error {
  readonly httpStatus = 400;
  constructor(
    readonly code: RequestErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Wraps anything thrown into an Error, so callers never handle `unknown`. */
export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
