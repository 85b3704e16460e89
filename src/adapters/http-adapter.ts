/**
 * What the HTTP adapters (Kong, Kong OPA, forward-auth) share: their dependencies, the
 * `gateway_access` guard in front of every one of their routes, and one way to turn what
 * fastify refuses before a handler runs (malformed JSON, oversized body, wrong content type,
 * a body that fails the route schema) into a JSON answer with a stable snake_case `code`,
 * counted as `ascend_authz_errors_total{adapter,reason}`. Each adapter registers its routes
 * in its own fastify scope, so its parsers, guard and error rendering never leak into the
 * other routes on the listener.
 */
import type { Socket } from 'node:net';
import AjvModule from 'ajv';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { GATEWAY_TOKEN_HEADER, type GatewayDenial } from '../gateway/access.js';
import type { FailureCode } from '../core/errors.js';
import type { AdapterName, RawGatewayRequest } from '../gateway/request.js';
import { fastRoutesOf, type FastRoute, type ReplyLike, type RequestLike } from '../http/fast-routes.js';
import { connectionPrincipal } from '../listeners/tls.js';
import type { AccessMetrics } from '../observability/access-metrics.js';
import type { Completions } from '../observability/completions.js';
import type { Metrics } from '../observability/metrics.js';
import type { CheckPipeline } from '../pipeline/check.js';
import type { RuntimeState } from '../pipeline/state.js';

export interface HttpAdapterDeps {
  readonly pipeline: CheckPipeline;
  readonly state: RuntimeState;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly completions: Completions;
  readonly accessMetrics: AccessMetrics;
}

/** A request refused before it reached the pipeline. */
export interface Problem {
  readonly status: number;
  /** Stable snake_case code; also the `reason` label of `ascend_authz_errors_total`. */
  readonly code: Extract<FailureCode, 'invalid_json' | 'too_deep' | 'invalid_request' | 'body_too_large' | 'unsupported_media_type' | 'internal_error'>;
  readonly reason: string;
}

export function problemOf(err: FastifyError, bodyLimit: number | undefined): Problem {
  if (err.validation) return { status: 400, code: 'invalid_request', reason: err.message };
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'invalid_json', reason: err.message };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'body_too_large', reason: `request body is larger than ${bodyLimit ?? 'the limit'} bytes` };
    case 'too_deep':
      return { status: 400, code: 'too_deep', reason: err.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', reason: 'content-type must be application/json' };
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, code: 'invalid_request', reason: err.message };
  return { status: 500, code: 'internal_error', reason: 'internal error' };
}

// Fastify's default validator coerces types (["GET"] → "GET", 1 → "1") and fills defaults;
// a gateway's request must be taken as sent, so these routes validate without coercion.
const Ajv = AjvModule.default ?? AjvModule;
const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false });

export interface ScopeOptions {
  adapter: AdapterName;
  /** Keep only fastify's JSON parser (secure-json-parse: refuses `__proto__` keys). */
  jsonOnly: boolean;
  render(reply: ReplyLike, p: Problem): void;
}

const DENIAL_STATUS: Readonly<Record<GatewayDenial, number>> = { peer_not_allowed: 403, gateway_token_required: 401 };

function denialReason(denial: GatewayDenial, peer: string | undefined): string {
  if (denial === 'peer_not_allowed') return `peer ${peer ?? '(gone)'} is not in gateway_access.allowed_peers`;
  return `missing or wrong ${GATEWAY_TOKEN_HEADER}`;
}

/**
 * Refuses a caller `gateway_access` does not let in before its body is read or anything is
 * evaluated, with a plain HTTP answer in every adapter (Kong opa too: a caller that is not an
 * allowed gateway gets no protocol answer). A callback hook: no promise per request.
 */
function guardScope(scope: FastifyInstance, deps: HttpAdapterDeps, adapter: AdapterName): void {
  scope.addHook('onRequest', (req, reply, done) => {
    const denial = deps.state.runtime.gatewayAccess.denyRequest(req.raw.socket, req.raw.headers);
    if (denial === undefined) {
      done();
      return;
    }
    deps.accessMetrics.gatewayDenied(adapter, denial);
    if (denial === 'gateway_token_required') void reply.header('www-authenticate', 'AscendGatewayToken');
    void reply.code(DENIAL_STATUS[denial]).send({ code: denial, reason: denialReason(denial, req.raw.socket.remoteAddress) });
  });
}

/** Sets up an adapter's fastify scope: the access guard, strict validation, its parsers and its error answers. */
export function setupScope(scope: FastifyInstance, deps: HttpAdapterDeps, opts: ScopeOptions): void {
  guardScope(scope, deps, opts.adapter);
  scope.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  if (opts.jsonOnly) scope.removeContentTypeParser(['text/plain']);
  scope.setErrorHandler((err: FastifyError, req, reply) => answerProblem(deps, opts, err, req.url, req.routeOptions.bodyLimit, reply));
}

/** An adapter's answer to a request it refuses: counted, logged when it is our fault, rendered. */
function answerProblem(deps: HttpAdapterDeps, opts: ScopeOptions, err: FastifyError, url: string, bodyLimit: number | undefined, reply: ReplyLike): void {
  const p = problemOf(err, bodyLimit);
  deps.metrics.error(opts.adapter, p.code);
  if (p.status >= 500) deps.logger.error({ err, adapter: opts.adapter, url: deps.state.runtime.redaction.target(url) }, 'adapter failed');
  opts.render(reply, p);
}

export interface FastRouteOptions extends ScopeOptions {
  readonly methods: readonly string[];
  readonly path: string;
  readonly prefix?: boolean;
  readonly bodyLimit: number;
  /** The route's body schema; absent: the route takes no body. */
  readonly schema?: TSchema;
  handle(req: RequestLike, reply: ReplyLike): void;
}

/**
 * Serves one of the adapter's fastify routes on the listener's fast path too (http/fast-routes.ts),
 * with the same validator, access guard (a refused caller is left to fastify, which answers it)
 * and error answers. No-op on a listener without a fast path.
 */
export function addFastRoute(http: FastifyInstance, deps: HttpAdapterDeps, opts: FastRouteOptions): void {
  const routes = fastRoutesOf(http);
  if (routes === undefined) return;
  const route: FastRoute = {
    methods: opts.methods,
    path: opts.path,
    prefix: opts.prefix === true,
    body: opts.schema === undefined ? 'none' : 'json',
    bodyLimit: opts.bodyLimit,
    ...(opts.schema === undefined ? {} : { validate: ajv.compile(opts.schema) }),
    handle: opts.handle,
    fail: (err, req, reply) => answerProblem(deps, opts, err, req.url, opts.bodyLimit, reply),
    declines: (socket, headers) => deps.state.runtime.gatewayAccess.denyRequest(socket, headers) !== undefined,
  };
  routes.add(route);
}

/**
 * `raw` with the client certificate of the connection it came on (the `principal` identity
 * source with `from: connection`); unchanged on a plain or unverified connection.
 */
export function withConnection(raw: RawGatewayRequest, socket: Socket): RawGatewayRequest {
  const principal = connectionPrincipal(socket);
  if (principal !== undefined) raw.connectionPrincipal = principal;
  return raw;
}

/** The plain JSON error answer: `{code, reason}` with the problem's status. */
export function renderProblem(reply: ReplyLike, p: Problem): void {
  void reply.code(p.status).send({ code: p.code, reason: p.reason });
}
