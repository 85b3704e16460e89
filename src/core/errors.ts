/**
 * Errors with stable snake_case codes. The code doubles as the `reason` label on error
 * metrics and as the `code` field in denial bodies, so it never changes once published.
 * A deny is a decision, not an error: these are for requests we cannot evaluate at all.
 */
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
