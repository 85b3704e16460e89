/**
 * API errors: every failure answers `{error: {code, message, field?}, detail}` with a stable
 * snake_case code (fastify lib/errors.js style). `detail` repeats the message at the top level,
 * where the ASCEND SDK reads it for its exceptions; 400/422 add `errors` (field → message) and
 * 403 adds `policy_violations`, as the SDK expects. Validation failures name the field; a deny
 * is a decision (HTTP 200), never an error.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { StoreError } from '../approvals/store/errors.js';
import type { ApiFailureCode, FailureCode } from '../core/errors.js';
import type { ReplyLike } from '../http/fast-routes.js';

/** The codes the REST API answers with: its own and the input errors it shares with the gateways. */
export type ApiErrorCode =
  | ApiFailureCode
  | Extract<FailureCode, 'invalid_request' | 'invalid_json' | 'too_deep' | 'body_too_large' | 'unsupported_media_type' | 'internal_error'>;

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
    /** Seconds, for 429 and 503 answers (`Retry-After`). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string, id: string) => new ApiError(404, 'not_found', `no ${what} ${id}`);

/** The record a store lookup found, or a 404 naming what was looked for. */
export async function found<T>(lookup: Promise<T | undefined>, what: string, id: string): Promise<T> {
  const v = await lookup;
  if (v === undefined) throw notFound(what, id);
  return v;
}

export function errorBody(code: string, message: string, field?: string, status = 400): Record<string, unknown> {
  const body: Record<string, unknown> = { error: field === undefined ? { code, message } : { code, message, field }, detail: message };
  if ((status === 400 || status === 422) && field !== undefined) body.errors = { [field]: message };
  if (status === 403) body.policy_violations = [];
  return body;
}

/** ajv's `/actions/0/agent_id` (or a missing property) → `actions[0].agent_id`. */
function fieldOf(e: { instancePath: string; keyword: string; params: Record<string, unknown> }): string {
  const parts = e.instancePath.split('/').filter(Boolean);
  if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
  return parts.reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out === '' ? p : `${out}.${p}`), '');
}

const CLIENT_ERRORS: Readonly<Record<string, ApiErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  too_deep: 'too_deep',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
};

function toApiError(err: FastifyError | Error): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreError && err.code === 'invalid_cursor') return new ApiError(400, 'invalid_cursor', err.message, 'cursor');
  const fe = err as FastifyError;
  if (fe.validation?.length) {
    const first = fe.validation[0] as unknown as { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string };
    const field = fieldOf(first);
    const where = fe.validationContext ?? 'body';
    // ajv's enum message ("must be equal to one of the allowed values") names none of them.
    const allowed = first.keyword === 'enum' && Array.isArray(first.params.allowedValues) ? first.params.allowedValues : undefined;
    const message = allowed ? `must be one of ${allowed.join(', ')}` : first.message ?? 'is invalid';
    return new ApiError(400, 'invalid_request', `${where}${field ? `.${field}` : ''}: ${message}`, field || undefined);
  }
  if (fe.code !== undefined && fe.code in CLIENT_ERRORS) return new ApiError(fe.statusCode ?? 400, CLIENT_ERRORS[fe.code] as ApiErrorCode, fe.message);
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500) return new ApiError(fe.statusCode, 'invalid_request', fe.message);
  return new ApiError(500, 'internal_error', 'internal error');
}

/** Where an API error is logged from: the request it answers and the key that sent it, if known. */
export interface ErrorContext {
  readonly logger: Logger;
  /** Masks secrets in the query of a URL before it is logged. */
  readonly redactUrl: (url: string) => string;
  readonly method: string;
  readonly url: string;
  /** The configured name of the request's key (not secret), null before authentication. */
  readonly apiKey: string | null;
}

/**
 * The API's answer to a failure: logged when it is ours (5xx) or a known key was refused (403;
 * 401s are not logged, so a flood of bad keys cannot flood the log), then `errorBody` with its
 * status and, for 429 and 503, Retry-After.
 */
export function answerApiError(err: FastifyError | Error, c: ErrorContext, reply: ReplyLike): unknown {
  const e = toApiError(err);
  if (e.statusCode >= 500) c.logger.error({ err, method: c.method, url: c.redactUrl(c.url), api_key: c.apiKey }, 'api request failed');
  else if (e.statusCode === 403) c.logger.warn({ method: c.method, url: c.redactUrl(c.url), api_key: c.apiKey, code: e.code }, 'api request refused');
  if (e.retryAfter !== undefined) void reply.header('retry-after', String(e.retryAfter));
  return reply.code(e.statusCode).send(errorBody(e.code, e.message, e.field, e.statusCode));
}

/**
 * JSON errors for every route of `api` and a JSON 404 for unknown routes under its prefix.
 * `redactUrl` masks secrets in the query of a URL before it is logged. Failures and refusals of
 * a known key name the key (`api_key`: its configured name, which is not secret), never the key.
 */
export function installErrorHandling(api: FastifyInstance, logger: Logger, redactUrl: (url: string) => string, opts: { notFound: boolean } = { notFound: true }): void {
  api.setErrorHandler((err: FastifyError, req, reply) => {
    const apiKey = (req as { principal?: { name: string } | null }).principal?.name ?? null;
    return answerApiError(err, { logger, redactUrl, method: req.method, url: req.url, apiKey }, reply);
  });
  // Only for a prefixed scope: a scope without a prefix would take every unknown path on the
  // listener (and run its key check first, answering 401 where the gateway routes expect 404).
  if (!opts.notFound) return;
  api.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody('route_not_found', `no route ${req.method} ${req.url.split('?')[0]}`, undefined, 404)),
  );
}
