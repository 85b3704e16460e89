/**
 * `POST /api/v1/actions/submit` (the ASCEND SDK's evaluate_action) on the listener's fast path
 * (http/fast-routes.ts), answered exactly as the fastify route (routes/submit.ts) answers it.
 *
 * Why: behind fastify the route cost 2.6× a bare fastify handler in CPU per request, most of it
 * fastify's per-request machinery — two async hooks, the content-type parser, validation,
 * the serializer chain — rather than the decision (bench/README.md, "HTTP pipeline").
 *
 * Only what the API's key hook lets straight through is served here: a connection a key may
 * travel on, a known key whose role the route lists, and a key that does not sign its requests
 * (auth.ts admittedPrincipal). Everything else — no key, an unknown one, another role, a
 * plain-text connection from another host, a signing key — is left to fastify, which refuses
 * or verifies it as ever. A served request takes its rate-limit token before anything else is
 * answered, body errors included, as the hook does before the body is parsed. The body goes
 * through the API's validator options; answers and errors through the route's own response
 * schemas, compiled by fast-json-stringify as fastify compiles them, and the API's own error
 * answer (errors.ts answerApiError). test/api-fast-path.test.ts holds the two paths side by side.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TSchema } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import type { FastifyInstance } from 'fastify';
import fastJson from 'fast-json-stringify';
import { fastRoutesOf, type ReplyLike, type RequestLike } from '../http/fast-routes.js';
import type { CheckResult } from '../pipeline/result.js';
import { admittedPrincipal } from './auth.js';
import type { ApiDeps } from './context.js';
import { answerApiError } from './errors.js';
import type { ApiPrincipal } from './keys.js';
import type { RateLimitCheck } from './rate-limit.js';
import { AnswerJson } from '../adapters/answer-json.js';
import { answerStatus, kept } from './routes/authorization.js';
import { decisionView } from './views.js';
import { cacheControl, factsAfter, forwardedRequest, SUBMIT_ROLES, SUBMIT_SCHEMA, submittedAction } from './routes/submit.js';
import type { SubmitBody } from './sdk-schemas.js';

const PATH = '/api/v1/actions/submit';
/** The listener's default (http/server.ts): the API routes set no limit of their own. */
const BODY_LIMIT = 1024 * 1024;

type Serialize = (payload: unknown) => string;

/**
 * The route's response serializers by status, and fastify's choice among them
 * (fastify/lib/schemas.js getSchemaSerializer: the status, else `4xx`-style, else `default`).
 */
function serializers(response: Record<string | number, TSchema>): (status: number) => Serialize | undefined {
  const byStatus = new Map<string, Serialize>();
  for (const [status, schema] of Object.entries(response)) byStatus.set(status, fastJson(schema, { schema: {} }) as Serialize);
  return (status) => byStatus.get(String(status)) ?? byStatus.get(`${String(status)[0]}xx`) ?? byStatus.get('default');
}

/** The fast path's reply, with an object payload serialized as fastify would for this route. */
class SchemaReply implements ReplyLike {
  private status = 200;

  constructor(private readonly reply: ReplyLike, private readonly serializerFor: (status: number) => Serialize | undefined) {}

  code(status: number): this {
    this.status = status;
    void this.reply.code(status);
    return this;
  }

  header(name: string, value: string): this {
    void this.reply.header(name, value);
    return this;
  }

  headers(values: Record<string, string>): this {
    void this.reply.headers(values);
    return this;
  }

  send(payload?: unknown, bytes?: number): unknown {
    const serialize = payload !== null && typeof payload === 'object' ? this.serializerFor(this.status) : undefined;
    if (serialize === undefined) return this.reply.send(payload, bytes);
    return this.reply.header('content-type', 'application/json').send(serialize(payload));
  }
}

export interface FastSubmitOptions {
  /** The API's rate limits (one set of buckets with the fastify routes). */
  readonly limits: RateLimitCheck;
  /** The API's body validator (no coercion, defaults filled). */
  readonly validator: { compile(schema: TSchema): ValidateFunction };
}

/** Serves the submit route on `http`'s fast path too; a no-op on a listener without one. */
export function addFastSubmit(http: FastifyInstance, deps: ApiDeps, opts: FastSubmitOptions): void {
  const routes = fastRoutesOf(http);
  if (routes === undefined) return;
  const serializerFor = serializers(SUBMIT_SCHEMA.response as Record<string | number, TSchema>);
  const answers = new AnswerJson(decisionView, serializerFor(200));
  // The principal admitted before the body was read (as fastify's hook does), by request.
  const principals = new WeakMap<IncomingHttpHeaders, ApiPrincipal>();
  const redactUrl = (url: string): string => deps.state.runtime.redaction.target(url);

  const fail = (err: Error, req: RequestLike, reply: ReplyLike, p: ApiPrincipal): void => {
    void answerApiError(err, { logger: deps.logger, redactUrl, method: req.method, url: req.url, apiKey: p.name }, reply);
  };
  /** Takes the key's rate-limit token; false once it has answered 429. */
  const admitted = (req: RequestLike, reply: ReplyLike, p: ApiPrincipal): boolean => {
    try {
      opts.limits.check(p.name, deps.state.runtime.apiKeys.rules(p.name).rateLimit);
      return true;
    } catch (e) {
      fail(e as Error, req, reply, p);
      return false;
    }
  };

  routes.add({
    methods: ['POST'],
    path: PATH,
    body: 'json',
    bodyLimit: BODY_LIMIT,
    allowEmpty: true,
    validate: opts.validator.compile(SUBMIT_SCHEMA.body),
    declines(socket, headers) {
      const p = admittedPrincipal(deps.state, socket, headers, SUBMIT_ROLES);
      if (p === undefined || deps.state.runtime.apiKeys.rules(p.name).signingSecret !== undefined) return true;
      principals.set(headers, p);
      return false;
    },
    handle(req, raw) {
      const p = principals.get(req.headers) as ApiPrincipal;
      const reply = new SchemaReply(raw, serializerFor);
      if (!admitted(req, reply, p)) return;
      const done = (r: CheckResult): void => {
        // The route's answer (routes/submit.ts): cache-control, then the status and the view;
        // a plain 200 from the Decision's serialized parts.
        factsAfter(deps, p, reply);
        cacheControl(deps, reply, kept(deps, r));
        if (answerStatus(reply, r)) answers.send(reply, r);
        else void reply.send(decisionView(r));
      };
      try {
        const body = req.body as SubmitBody;
        const request = forwardedRequest(deps, p, body, reply);
        const r = deps.pipeline.checkAction(submittedAction(p, body), 'api', request);
        if (r instanceof Promise) r.then(done, (e: unknown) => fail(e as Error, req, reply, p));
        else done(r);
      } catch (e) {
        fail(e as Error, req, reply, p);
      }
    },
    fail(err, req, raw) {
      const p = principals.get(req.headers) as ApiPrincipal;
      const reply = new SchemaReply(raw, serializerFor);
      if (admitted(req, reply, p)) fail(err, req, reply, p);
    },
  });
}
