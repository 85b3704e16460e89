/**
 * Forward-auth: rebuild the request the gateway is asking about from the auth request.
 *
 * - nginx `auth_request`: `X-Original-URI` (+ `X-Original-Method`, `X-Original-Host` or Host,
 *   `X-Original-Proto`, `X-Real-IP`), as deploy/nginx/ascend-auth-endpoint.conf sets them;
 * - Traefik ForwardAuth: `X-Forwarded-Uri|Method|Host|Proto|For`;
 * - Envoy `http_service`: the auth request itself, at `path_prefix` + original path, with the
 *   original method and the allowed headers.
 *
 * Forwarding headers are believed only from `forward_auth.trusted_proxies`. From any other
 * peer they are ignored and the request is judged as it is (Envoy style: its own method, the
 * path after the prefix, its own Host); when that names no request (the bare prefix, the way
 * nginx and Traefik call, or a path after it that is only `/`, as an address configured with a
 * trailing slash sends) it is refused with 400 rather than judged as `/`: a proxy missing from
 * the list must fail loudly, never have every request judged as one harmless path.
 * Both `X-Original-URI` and `X-Forwarded-Uri` present is refused too: each gateway passes
 * client headers through, so one of the two was sent by the client. So is the original URI or
 * method sent twice: node:http joins repeated values with ", ", and `/v1/orders/1, /admin` would
 * be judged as an orders path; a request target never holds a space and a method never a comma,
 * so such a value can only be two headers, one from the client. Host, scheme and address may be
 * lists from a proxy chain, and are read as before.
 */
import { RequestError } from '../../core/errors.js';
import type { HeaderInput, RawGatewayRequest } from '../../gateway/request.js';
import { forwardedNode, parseForwarded } from '../../gateway/forwarded.js';
import { lowerCaseHeaders } from '../../gateway/normalize.js';
import { canonicalPath, splitTarget } from '../../gateway/path.js';
import { parseAddress, type TrustedProxies } from '../../gateway/trusted-proxies.js';

export type ForwardAuthStyle = 'nginx' | 'traefik' | 'envoy';

export interface AuthCall {
  /** The auth request's own method, target (raw URL) and headers. */
  method: string;
  url: string;
  headers: HeaderInput;
  /** TCP peer address. */
  peer: string | undefined;
  /** forward_auth.path */
  prefix: string;
  trusted: TrustedProxies;
  body: string | undefined;
}

export interface OriginalRequest {
  raw: RawGatewayRequest;
  style: ForwardAuthStyle;
}

/** The headers each proxy describes the original request with (nginx: our snippet's names). */
const HEADER_STYLES = [
  { style: 'nginx', uri: 'x-original-uri', method: 'x-original-method', host: 'x-original-host', proto: 'x-original-proto', ip: 'x-real-ip' },
  { style: 'traefik', uri: 'x-forwarded-uri', method: 'x-forwarded-method', host: 'x-forwarded-host', proto: 'x-forwarded-proto', ip: undefined },
] as const;
type HeaderStyle = (typeof HEADER_STYLES)[number];

/** Headers that describe the original request; never passed on as its own headers. */
const FORWARDING = new Set<string>(HEADER_STYLES.flatMap((s) => [s.uri, s.method, s.host, s.proto]));

function one(h: HeaderInput, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : (v as string | undefined);
}

/** The original URI's or method's one value; refused when it was sent more than once (see above). */
function single(h: HeaderInput, name: string, joined: string): string | undefined {
  const v = h[name];
  const repeated = Array.isArray(v) ? v.length > 1 : typeof v === 'string' && v.includes(joined);
  if (repeated) throw new RequestError('invalid_request', `${name} is sent more than once; one of them came from the client`);
  return Array.isArray(v) ? v[0] : (v as string | undefined);
}

/** The client address in X-Forwarded-For: the rightmost entry that is not a trusted proxy. */
export function clientFromForwardedFor(xff: string | undefined, trusted: TrustedProxies): string | undefined {
  if (!xff) return undefined;
  const hops = xff.split(',').map((s) => s.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!parseAddress(hop)) return undefined;
    if (!trusted(hop) || i === 0) return hop;
  }
  return undefined;
}

/**
 * The original request's own headers as the canonical null-prototype map normalize() takes as
 * it is (`headersCanonical`), built by normalize's own copy (lowerCaseHeaders): one header map
 * per check instead of two. The forwarding headers are left out and Host is the original's; the
 * client's `x-ascend-*` stay for normalize() to strip and report.
 */
function passedHeaders(h: HeaderInput, host: string): Record<string, string> {
  return lowerCaseHeaders(h, { skip: FORWARDING, host });
}

interface Described {
  style: ForwardAuthStyle;
  method: string;
  target: string;
  host: string;
  scheme: string;
  sourceIp: string | undefined;
}

/**
 * Does the path after the prefix name no request? Empty, or any spelling of `/` (`/`, `//`,
 * `/./`, `/?x=1`). A path that cannot be canonicalized is left to the pipeline, which refuses it.
 */
function namesNothing(suffix: string): boolean {
  if (!suffix.startsWith('/')) return true;
  try {
    return canonicalPath(splitTarget(suffix).path, { encodedSlashes: 'decode' }) === '/';
  } catch {
    return false;
  }
}

interface Forwarded {
  readonly host?: string | undefined;
  readonly proto?: string | undefined;
  readonly client?: string | undefined;
}

/** What an absent `Forwarded` header says (nearly every call): nothing, without parsing. */
const NOT_FORWARDED: Forwarded = Object.freeze({});

/** RFC 7239 `Forwarded` from a trusted proxy: host/proto of the nearest hop, the client as in XFF. */
function forwarded(h: HeaderInput, c: AuthCall): Forwarded {
  const header = one(h, 'forwarded');
  if (!header) return NOT_FORWARDED;
  const elements = parseForwarded(header);
  const last = elements[elements.length - 1];
  const chain = elements.map((e) => (e.for === undefined ? '' : forwardedNode(e.for))).join(',');
  return { host: last?.host, proto: last?.proto, client: clientFromForwardedFor(chain || undefined, c.trusted) };
}

/**
 * The original request as a trusted peer's nginx or Traefik headers describe it, undefined when
 * it sent neither URI header. Both present is refused, and so is either sent twice
 * ({@link single}), whichever comes first. Each URI header is read once.
 */
function fromHeaders(h: HeaderInput, c: AuthCall, fwd: Forwarded, host: string, xff: string | undefined): Described | undefined {
  let s: HeaderStyle | undefined;
  let target: string | undefined;
  for (let i = 0; i < HEADER_STYLES.length; i++) {
    const style = HEADER_STYLES[i] as HeaderStyle;
    const uri = single(h, style.uri, ', ');
    if (uri === undefined) continue;
    if (s !== undefined) {
      throw new RequestError('invalid_request', 'both X-Original-URI and X-Forwarded-Uri are present; one of them came from the client');
    }
    s = style;
    target = uri;
  }
  if (s === undefined) return undefined;
  return {
    style: s.style, method: single(h, s.method, ',') ?? c.method, target: target as string,
    host: one(h, s.host) ?? host, scheme: one(h, s.proto) ?? fwd.proto ?? 'http',
    sourceIp: (s.ip === undefined ? undefined : one(h, s.ip)) ?? xff ?? c.peer,
  };
}

function describe(c: AuthCall, suffix: string, trusted: boolean): Described {
  const h = c.headers;
  const fwd = trusted ? forwarded(h, c) : NOT_FORWARDED;
  const host = fwd.host ?? one(h, 'host') ?? '';
  const xff = trusted ? (clientFromForwardedFor(one(h, 'x-forwarded-for'), c.trusted) ?? fwd.client) : undefined;
  const described = trusted ? fromHeaders(h, c, fwd, host, xff) : undefined;
  if (described !== undefined) return described;
  // From a trusted peer without forwarding headers, `/` after the prefix is Envoy asking about `/`.
  if (!suffix.startsWith('/') || (!trusted && namesNothing(suffix))) {
    const why = trusted
      ? 'no X-Original-URI (nginx) or X-Forwarded-Uri (Traefik) header'
      : `forwarding headers are honoured only from forward_auth.trusted_proxies, and peer ${c.peer ?? 'unknown'} is not one`;
    throw new RequestError('invalid_request', `no original request: ${why}, and the path names nothing after ${c.prefix}`);
  }
  return {
    style: 'envoy', method: c.method, target: suffix, host,
    scheme: (trusted ? (one(h, 'x-forwarded-proto') ?? fwd.proto) : undefined) ?? 'http',
    sourceIp: xff ?? c.peer,
  };
}

/** Throws {@link RequestError} when no original request can be rebuilt (answered 400). */
export function originalRequest(c: AuthCall): OriginalRequest {
  if (!c.url.startsWith(c.prefix)) {
    // The router matched a percent-encoded spelling of the prefix; Envoy never sends one.
    throw new RequestError('invalid_request', `request target does not start with ${c.prefix}`);
  }
  const d = describe(c, c.url.slice(c.prefix.length), c.trusted(c.peer));
  return {
    style: d.style,
    raw: {
      adapter: 'forward_auth',
      method: d.method,
      target: d.target,
      host: d.host,
      scheme: d.scheme,
      headers: passedHeaders(c.headers, d.host),
      headersCanonical: true,
      sourceIp: d.sourceIp,
      body: c.body,
    },
  };
}
