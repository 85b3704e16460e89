/**
 * The gateway endpoints' fast path: the request shapes gateways actually send — Kong's
 * `POST /kong/v1/authorize`, the Kong opa plugin's `POST /v1/data/...`, nginx's and Traefik's
 * `GET /forward-auth` — answered straight from node:http, in front of fastify.
 *
 * Why: fastify's per-request machinery (routing, hook chains, the content-type parser, the
 * validation and serialization steps, the reply object) cost about as much CPU as the whole
 * decision on a cached allow; bench/README.md ("HTTP adapters") measures both. Here a request is:
 * one lookup by method and path, the body read into one buffer, the same depth check, JSON
 * parser (json-body.ts, which refuses `__proto__`) and validator (the adapter's ajv
 * schema) as the fastify route, then the adapter's own handler with a small reply object.
 *
 * What clients see is identical: every refusal is the adapter's own error answer, built by the
 * same `problemOf` from the same fastify error codes and messages. Anything unusual is not
 * handled here at all and goes to fastify unchanged: another path (a trailing slash, a prefix
 * route), a caller `gateway_access` refuses, too many headers, a body without a content-length
 * (chunked) or over the route's limit, another content type, and every request once the
 * listener is closing (fastify answers those 503).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ValidateFunction } from 'ajv';
import type { RuntimeState } from '../pipeline/state.js';
import { parseJsonBody } from './json-body.js';

/** What an adapter's handler needs of the request (fastify's request has all of it too). */
export interface RequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly socket: Socket;
  readonly body: unknown;
  /**
   * The TCP peer's address, when the server read it once for the connection (h1-server.ts):
   * `socket.remoteAddress` walks the socket and its handle on every read. Absent: read that.
   */
  readonly peer?: string | undefined;
}

/**
 * The part of fastify's reply the adapters and the REST API use; a FastifyReply is one, and so
 * is the fast path's (ReplyBase). The one reply type of every handler that runs on both.
 */
export interface ReplyLike {
  code(status: number): ReplyLike;
  header(name: string, value: string): ReplyLike;
  headers(values: Record<string, string>): ReplyLike;
  /**
   * `bytes`: a string payload's UTF-8 length, when the caller knows it (an answer joined from
   * ASCII parts, adapters/answer-json.ts); the fast path's reply then need not count it, and
   * fastify's ignores it.
   */
  send(payload?: unknown, bytes?: number): unknown;
}

/** Thrown (or passed to `fail`) like fastify's own errors, so `problemOf` maps them alike. */
export type ProblemError = FastifyError & { validation?: unknown };

export interface FastRoute {
  readonly methods: readonly string[];
  /** Matched against the path (the URL without its query): exactly, or also as `path/...` with `prefix`. */
  readonly path: string;
  /** Also serve every path under `path/` (as a fastify `path/*` route does). */
  readonly prefix?: boolean;
  /**
   * 'json': the request must carry a JSON body (content-length, at most bodyLimit), parsed and
   * validated as the fastify route does. 'none': the request must carry no body. Any other
   * request goes to fastify.
   */
  readonly body: 'json' | 'none';
  readonly bodyLimit: number;
  /** A 'json' body of only whitespace is no body (undefined), as useJsonParser's `allowEmpty` (the REST API). */
  readonly allowEmpty?: boolean;
  /** The route's body schema, compiled by the adapter's own validator ('json' routes). */
  readonly validate?: ValidateFunction;
  /** The adapter's handler, the same function its fastify route runs. */
  handle(req: RequestLike, reply: ReplyLike): void;
  /** The adapter's error answer (its fastify error handler), for a body that is refused. */
  fail(err: ProblemError, req: RequestLike, reply: ReplyLike): void;
  /** Falls through to fastify when this says so (e.g. gateway_access would refuse the caller). */
  declines?(socket: Socket, headers: IncomingHttpHeaders): boolean;
}

const JSON_TYPE = /^application\/json\s*(?:;|$)/i;

/** Whether `type` is one JSON_TYPE takes: the one every gateway sends compared as it is, without the expression. */
function isJsonType(type: string | undefined): boolean {
  return type === 'application/json' || JSON_TYPE.test(type ?? '');
}

/** A media type fastify treats as JSON (it looks for "json" in it), and a charset parameter. */
const JSON_MEDIA = /^[^;]*json/i;
const CHARSET = /;\s*charset=/i;

/**
 * A reply with the headers fastify would write for the same values (fastify/lib/reply.js:
 * content types, `charset=utf-8` added to JSON types, content-length, none for an empty HEAD
 * answer); `write` puts them on the wire. test/http-fast-path.test.ts holds the two side by side.
 */
export abstract class ReplyBase implements ReplyLike {
  protected status = 200;
  protected readonly out: Record<string, string> = {};

  constructor(protected readonly method: string) {}

  code(status: number): this {
    this.status = status;
    return this;
  }

  header(name: string, value: string): this {
    this.out[name.toLowerCase()] = value;
    return this;
  }

  headers(values: Record<string, string>): this {
    for (const k in values) this.out[k.toLowerCase()] = values[k]!;
    return this;
  }

  send(payload?: unknown, bytes?: number): void {
    const out = this.out;
    if (payload === undefined || payload === null) {
      if (this.status >= 200 && this.status !== 204 && this.status !== 304 && this.method !== 'HEAD') out['content-length'] = '0';
      this.write(this.status, out, undefined, 0);
      return;
    }
    const text = typeof payload === 'string';
    const body = text ? payload : JSON.stringify(payload);
    const type = out['content-type'];
    if (type === undefined) out['content-type'] = text ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
    // What the adapters set on every answer, without the two regular expressions below.
    else if (type === 'application/json') out['content-type'] = 'application/json; charset=utf-8';
    else if (JSON_MEDIA.test(type) && !CHARSET.test(type)) out['content-type'] = `${type}; charset=utf-8`;
    const n = text && bytes !== undefined ? bytes : Buffer.byteLength(body);
    out['content-length'] = String(n);
    this.write(this.status, out, body, n);
  }

  /**
   * The answer when the route's own error answer could not be written either (a header value
   * node refuses, say): a plain 500 denial that closes the connection, as fastify answers a
   * reply that throws, instead of an exception nothing above catches.
   */
  internalError(): void {
    for (const k in this.out) delete this.out[k];
    this.status = 500;
    this.out.connection = 'close';
    this.send({ decision: 'denied', code: 'internal_error', reason: 'internal error while answering' });
  }

  /**
   * Writes the answer: `headers` in order, then `body` (undefined: none), `bodyBytes` long in
   * UTF-8 (equal to its length exactly when the body is ASCII).
   */
  protected abstract write(status: number, headers: Record<string, string>, body: string | undefined, bodyBytes: number): void;
}

/** A reply through node's ServerResponse. */
class NodeReply extends ReplyBase {
  constructor(private readonly res: ServerResponse, method: string) {
    super(method);
  }

  protected write(status: number, headers: Record<string, string>, body: string | undefined): void {
    this.res.writeHead(status, headers);
    this.res.end(body);
  }
}

/** The route's error answer; if writing that throws too, {@link ReplyBase.internalError}. */
function failSafely(route: FastRoute, err: ProblemError, request: RequestLike, reply: ReplyBase): void {
  try {
    route.fail(err, request, reply);
  } catch {
    reply.internalError();
  }
}

export class FastRoutes {
  /** Routes by method, then by exact path (no `method path` string built per request). */
  private readonly routes = new Map<string, Map<string, FastRoute>>();
  /** Prefix routes by method: a few at most, tried in order after the exact lookup. */
  private readonly prefixes = new Map<string, Array<[string, FastRoute]>>();
  private closing = false;
  /** Every method some route answers (the HTTP/1.1 server hands any other to node:http at once). */
  readonly methods = new Set<string>();
  /** Requests answered here rather than by fastify (tests read it; a plain count costs nothing). */
  served = 0;

  constructor(private readonly state: RuntimeState, private readonly maxHeaders: number) {}

  add(route: FastRoute): void {
    for (const m of route.methods) {
      this.methods.add(m);
      let byPath = this.routes.get(m);
      if (byPath === undefined) this.routes.set(m, (byPath = new Map()));
      byPath.set(route.path, route);
      if (route.prefix) this.prefixes.set(m, [...(this.prefixes.get(m) ?? []), [`${route.path}/`, route]]);
    }
  }

  /** The listener began to close: from now on fastify answers every request (503). */
  close(): void {
    this.closing = true;
    for (const f of this.onClose) f();
  }

  /** Whether the listener is closing. */
  get isClosing(): boolean {
    return this.closing;
  }

  private readonly onClose: Array<() => void> = [];

  /** Runs `f` when the listener begins to close. */
  whenClosing(f: () => void): void {
    this.onClose.push(f);
  }

  /**
   * The route that answers a request with this head, counted as served; undefined when the
   * request is fastify's (closing, another path, too many headers, a caller gateway_access
   * refuses, a body the route does not take here). `headerCount`: the request's header lines.
   */
  take(method: string, url: string, headers: IncomingHttpHeaders, headerCount: number, socket: Socket): FastRoute | undefined {
    if (this.closing || this.routes.size === 0) return undefined;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = this.routes.get(method)?.get(path) ?? this.byPrefix(method, path);
    if (route === undefined || headerCount > this.maxHeaders || headers['transfer-encoding'] !== undefined) return undefined;
    const length = headers['content-length'];
    if (route.body === 'none') {
      if (length !== undefined && length !== '0') return undefined;
    } else {
      const n = Number(length);
      if (!(n > 0) || !Number.isSafeInteger(n) || n > route.bodyLimit || !isJsonType(headers['content-type'])) return undefined;
    }
    // Last: it may authenticate (the submit route's API key), which fastify would do again for a
    // request the checks above send there.
    if (route.declines?.(socket, headers)) return undefined;
    this.served++;
    return route;
  }

  /** Answers the request and returns true, or returns false and leaves it untouched for fastify. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const method = req.method ?? 'GET';
    const route = this.take(method, req.url ?? '', req.headers, req.rawHeaders.length / 2, req.socket);
    if (route === undefined) return false;
    const reply = new NodeReply(res, method);
    const request = { method, url: req.url ?? '', headers: req.headers, socket: req.socket, body: undefined as unknown };
    if (route.body === 'none') {
      this.dispatch(route, request, reply, undefined);
      return true;
    }
    const chunks: Buffer[] = [];
    // A client that resets mid-body: node destroys the request and the response with it, and
    // there is nothing to answer (test: "a client that goes away mid-body"). Node 20 reports it
    // as 'aborted'/'close'; the listener keeps an 'error' from ever going unhandled.
    req.on('error', ignore);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.dispatch(route, request, reply, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    return true;
  }

  private byPrefix(method: string, path: string): FastRoute | undefined {
    const list = this.prefixes.get(method);
    if (list === undefined) return undefined;
    for (const [p, route] of list) if (path.startsWith(p)) return route;
    return undefined;
  }

  /**
   * Parses and validates the body (`raw`, read only during this call) as the fastify route
   * would, then runs the route's handler; a refusal is the route's own error answer.
   */
  dispatch(route: FastRoute, request: { -readonly [K in keyof RequestLike]: RequestLike[K] }, reply: ReplyBase, raw: Buffer | undefined): void {
    if (route.body === 'json') {
      try {
        request.body = parseJsonBody(raw === undefined ? '' : raw.toString('utf8'), route.allowEmpty === true, this.state.runtime.config.limits.max_json_depth);
      } catch (e) {
        // As fastify after any body parser error ("the client may send more data"): the answer
        // says `connection: close`, and the connection ends with it — no pipelined request after
        // it is answered.
        reply.header('connection', 'close');
        failSafely(route, e as ProblemError, request, reply);
        return;
      }
      if (route.validate !== undefined && !route.validate(request.body)) {
        failSafely(route, validationError(route.validate), request, reply);
        return;
      }
    }
    try {
      route.handle(request, reply);
    } catch (e) {
      failSafely(route, Object.assign(e as ProblemError, { statusCode: 500 }), request, reply);
    }
  }
}

/** fastify's validation error: its default formatter's message, statusCode 400, `validation`. */
function validationError(validate: ValidateFunction): ProblemError {
  const errors = validate.errors ?? [];
  const text = errors.map((e) => `body${e.instancePath || ''} ${e.message}`).join(', ');
  return Object.assign(new Error(text), { statusCode: 400, code: 'FST_ERR_VALIDATION', validation: errors, validationContext: 'body' }) as unknown as ProblemError;
}

function ignore(): void {}

const ROUTES = new WeakMap<FastifyInstance, FastRoutes>();

/** The fast routes of a listener made by createHttpServer (undefined for any other instance). */
export function fastRoutesOf(app: FastifyInstance): FastRoutes | undefined {
  return ROUTES.get(app);
}

export function attachFastRoutes(app: FastifyInstance, routes: FastRoutes): void {
  ROUTES.set(app, routes);
  app.addHook('preClose', (done) => {
    routes.close();
    done();
  });
}
