/**
 * Kong Enterprise opa plugin input → RawGatewayRequest. Translation only.
 *
 * Kong sends the path (kong.request.get_path(): dot segments resolved, unreserved escapes
 * decoded, reserved ones such as %2F kept) and the query as a decoded map; the target is
 * rebuilt from both and then normalized like every other gateway's.
 *
 * Only the entities the opa plugin sends are read (route, service, consumer): its input has no
 * `agent_id_from` and nothing vouches for one, so a consumer identifies an agent only through
 * a configured `consumer` identity source (docs/gateways.md), whatever else the input carries.
 */
import type { RawGatewayRequest } from '../../gateway/request.js';
import { hostWithPort, kongFacts } from '../kong/facts.js';
import type { OpaQuery, OpaRequest } from './schema.js';
import { asciiSet, onlyIn } from '../../shared/ascii-set.js';

/**
 * encodeURIComponent's unreserved characters (ECMA-262 uriUnreserved): A-Z a-z 0-9 - _ . ! ~ * ' ( ),
 * by char code below 0x80.
 */
const UNRESERVED = asciiSet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()");

/**
 * encodeURIComponent(s), without the call (a trip into the runtime, and a new string) when `s`
 * holds only unreserved characters, which it returns unchanged: query keys and values nearly always.
 */
function encoded(s: string): string {
  return onlyIn(UNRESERVED, s) ? s : encodeURIComponent(s);
}

/** Re-encodes the query map; `true` (a key without `=`) becomes a bare key. */
export function queryString(q: OpaQuery | undefined): string {
  if (!q) return '';
  // One string built as it goes: no array per key, none for the pairs, no closure.
  let out: string | undefined;
  for (const key in q) {
    const v = q[key];
    const k = encoded(key);
    if (Array.isArray(v)) for (const item of v) out = joined(out, pairOf(k, item));
    else out = joined(out, pairOf(k, v));
  }
  return out ?? '';
}

/** `out` and `pair` joined by `&` (`out` undefined: no pair yet); `out` unchanged for a pair left out. */
function joined(out: string | undefined, pair: string | undefined): string | undefined {
  if (pair === undefined) return out;
  return out === undefined ? pair : `${out}&${pair}`;
}

/** `k=item`, a bare `k` for `true`; undefined for any other value (left out). */
function pairOf(k: string, item: unknown): string | undefined {
  if (item === true) return k;
  return typeof item === 'string' ? `${k}=${encoded(item)}` : undefined;
}

/** `?` and `#` cannot be part of a normalized path: kept from starting a query or fragment. */
function escapedPath(path: string): string {
  // One pass over the path rather than two indexOf calls.
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x3f || c === 0x23) return path.replace(/[?#]/g, (m) => (m === '?' ? '%3F' : '%23'));
  }
  return path;
}

export function fromOpaInput(body: OpaRequest): RawGatewayRequest {
  const { input } = body;
  const h = input.request.http;
  const headers = h.headers ?? {};
  const query = queryString(h.querystring);
  const path = escapedPath(h.path);
  const host = h.host ?? (typeof headers.host === 'string' ? headers.host : '');
  return {
    adapter: 'kong_opa',
    method: h.method,
    target: query === '' ? path : `${path}?${query}`,
    host: hostWithPort(host, h.port),
    scheme: h.scheme,
    headers: headers,
    sourceIp: input.client_ip,
    facts: kongFacts({ route: input.route, service: input.service, consumer: input.consumer }),
    // include_body_in_opa_input sends the raw text; include_parsed_json_body_in_opa_input the
    // body Kong parsed (JSON, form or multipart) as JSON, whatever its content type.
    body: h.body ?? (h.parsed_body === undefined ? undefined : JSON.stringify(h.parsed_body)),
    bodyIsJson: h.body === undefined && h.parsed_body !== undefined,
  };
}
