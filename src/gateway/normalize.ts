import { RequestError } from '../core/errors.js';
import { canonicalHost } from './host.js';
import { canonicalPath, DEFAULT_PATH_OPTIONS, queryIndex, type PathOptions } from './path.js';
import { lowerCased, parseQuery } from './query.js';
import type { GatewayRequest, HeaderInput, RawGatewayRequest } from './request.js';
import { nullObject } from '../shared/null-object.js';

/** RFC 9110 methods plus PATCH (RFC 5789). Others are refused unless configured. */
export const STANDARD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;

/** Headers some frameworks read to replace the method (Express method-override, Rails, …). */
export const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

export interface NormalizeOptions {
  path: PathOptions;
  /** Accepted methods (upper case); undefined accepts any token. */
  methods?: ReadonlySet<string> | undefined;
  /** `honor`: evaluate the override (the upstream will act on it); `reject`: deny 400. */
  methodOverride?: 'ignore' | 'honor' | 'reject';
  /** Query keys the config reads (lower-case): parsed strictly, see gateway/query.ts. */
  queryKeys?: ReadonlySet<string>;
}

export const DEFAULT_NORMALIZE_OPTIONS: NormalizeOptions = Object.freeze({
  path: DEFAULT_PATH_OPTIONS,
  methods: new Set<string>(STANDARD_METHODS),
  methodOverride: 'ignore' as const,
});

const METHOD_RE = /^[A-Za-z][A-Za-z-]{0,31}$/;

/** Upper-cases the method (or its override) and checks it against the accepted set. */
function canonicalMethod(raw: string, headers: Record<string, string>, opts: NormalizeOptions): string {
  let method = raw;
  if (opts.methodOverride !== undefined && opts.methodOverride !== 'ignore') {
    const name = METHOD_OVERRIDE_HEADERS.find((h) => headers[h] !== undefined);
    if (name !== undefined) {
      if (opts.methodOverride === 'reject') throw new RequestError('invalid_method', `method override header ${name} is not allowed`);
      method = headers[name] as string;
    }
  }
  // An accepted method as sent (the set holds upper-case tokens): nothing to check or fold.
  if (opts.methods !== undefined && opts.methods.has(method)) return method;
  if (!METHOD_RE.test(method)) throw new RequestError('invalid_method', 'invalid HTTP method');
  const upper = method.toUpperCase();
  if (opts.methods !== undefined && !opts.methods.has(upper)) throw new RequestError('invalid_method', `method ${upper} is not accepted`);
  return upper;
}

const ASCEND_PREFIX = 'x-ascend-';

/** True for the sidecar's own response headers, which a client must never be able to set. */
export function isAscendHeader(lowerName: string): boolean {
  return lowerName.length > ASCEND_PREFIX.length && lowerName.startsWith(ASCEND_PREFIX);
}

/** What {@link lowerCaseHeaders} does besides lower-casing names and joining repeated values. */
export interface HeaderCopy {
  /** Names left out, as given (node's and h1's names are lower-case already). */
  readonly skip?: ReadonlySet<string>;
  /** The value of the `host` line, which is added last when none was sent (forward-auth: the original request's Host). */
  readonly host?: string;
}

/**
 * Copies `input` into `out`, lower-casing names and joining repeated values with "," (as Envoy
 * does), so nothing is lost. With `strip` (normalize), client-sent `x-ascend-*` headers are
 * dropped here, once for every adapter, so no route, identity source or policy can read one;
 * their names are returned for the gateway to remove upstream, in a list made only when there
 * is one (undefined for none). The one copy of an adapter's headers into the map normalize()
 * reads; `out` is a new, empty map.
 */
function copyHeaders(input: HeaderInput, copy: HeaderCopy, out: Record<string, string>, strip: boolean): string[] | undefined {
  const { skip, host } = copy;
  let stripped: string[] | undefined;
  let sawHost = false;
  // Whether a name so far was not lower-case. Until one is, every key is its own name, and the
  // names of one object differ: no key can repeat, and `out` is not read (a read by a varying
  // name is a megamorphic load per header).
  let folded = false;
  for (const name in input) {
    if (skip !== undefined && skip.has(name)) continue;
    let v = input[name];
    if (host !== undefined && name === 'host') {
      v = host;
      sawHost = true;
    } else if (v === undefined) continue;
    const key = lowerCased(name);
    if (key !== name) folded = true;
    if (strip && isAscendHeader(key)) {
      if (stripped === undefined) stripped = [key];
      else if (!stripped.includes(key)) stripped.push(key);
      continue;
    }
    const value = typeof v === 'string' ? v : v.join(',');
    const prev = folded ? out[key] : undefined;
    out[key] = prev === undefined ? value : `${prev},${value}`;
  }
  if (host !== undefined && !sawHost) {
    const prev = out.host;
    out.host = prev === undefined ? host : `${prev},${host}`;
  }
  return stripped;
}

/**
 * {@link copyHeaders} into a new map, client `x-ascend-*` kept: forward-auth builds its canonical
 * map with it (`skip`, `host`), from which normalize() strips them and reports them.
 */
export function lowerCaseHeaders(input: HeaderInput, copy: HeaderCopy): Record<string, string> {
  const out = nullObject<string>();
  copyHeaders(input, copy, out, false);
  return out;
}

/** Removes client `x-ascend-*` from an adapter-built canonical header object, in place; returns their names (undefined for none). */
function stripAscendHeaders(headers: Record<string, string>): string[] | undefined {
  let stripped: string[] | undefined;
  for (const name in headers) {
    if (isAscendHeader(name)) {
      if (stripped === undefined) stripped = [name];
      else stripped.push(name);
      delete headers[name];
    }
  }
  return stripped;
}

/** The header step's options (none besides stripping), so no object per call. */
const PLAIN: HeaderCopy = Object.freeze({});
/** Nearly every request sends no `x-ascend-*`: one shared empty list rather than an array per request. */
const NONE_STRIPPED: readonly string[] = Object.freeze([]);

/**
 * Turns what an adapter received into the canonical {@link GatewayRequest}.
 * Throws {@link RequestError} for input that cannot be evaluated safely (denied with 400).
 */
export function normalize(raw: RawGatewayRequest, opts: NormalizeOptions = DEFAULT_NORMALIZE_OPTIONS): GatewayRequest {
  // Where the query starts, control characters and a fragment refused: no object, and no path
  // slice for a target without a query.
  const target = raw.target;
  const q = queryIndex(target);
  let headers: Record<string, string>;
  let stripped: string[] | undefined;
  if (raw.headersCanonical) {
    headers = raw.headers as Record<string, string>;
    stripped = stripAscendHeaders(headers);
  } else {
    headers = nullObject<string>();
    stripped = copyHeaders(raw.headers, PLAIN, headers, true);
  }
  const clientAscendHeaders = stripped ?? NONE_STRIPPED;
  // Never from a client header: adapters pass the scheme their gateway vouches for.
  const scheme = lowerCased(raw.scheme || 'http');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1);
  return {
    adapter: raw.adapter,
    method: canonicalMethod(raw.method, headers, opts),
    scheme,
    host: canonicalHost(raw.host, scheme),
    path: canonicalPath(path, opts.path),
    rawTarget: target,
    query: parseQuery(query, opts.queryKeys),
    headers,
    clientAscendHeaders,
    sourceIp: raw.sourceIp,
    principal: raw.principal === '' ? undefined : raw.principal,
    connectionPrincipal: raw.connectionPrincipal,
    requestId: raw.requestId || headers['x-request-id'],
    metadata: raw.metadata,
    contextExtensions: raw.contextExtensions,
    facts: raw.facts,
    body: raw.body,
    // Envoy sets this header on the check request whenever with_request_body is on; a client
    // can only make its own body count as partial (more restrictive), never as complete.
    bodyPartial: raw.bodyPartial === true || (raw.body !== undefined && headers['x-envoy-auth-partial-body'] === 'true'),
    bodyIsJson: raw.bodyIsJson === true,
  };
}
