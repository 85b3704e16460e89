import { RequestError } from '../core/errors.js';
import { canonicalHost } from './host.js';
import { canonicalPath, DEFAULT_PATH_OPTIONS, splitTarget, type PathOptions } from './path.js';
import { parseQuery } from './query.js';
import type { GatewayRequest, HeaderInput, RawGatewayRequest } from './request.js';

export interface NormalizeOptions {
  path: PathOptions;
}

export const DEFAULT_NORMALIZE_OPTIONS: NormalizeOptions = Object.freeze({ path: DEFAULT_PATH_OPTIONS });

const METHOD_RE = /^[A-Za-z][A-Za-z-]{0,31}$/;

/** Lower-cases names and joins repeated values with "," (as Envoy does), so nothing is lost. */
export function lowerCaseHeaders(input: HeaderInput): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name in input) {
    const v = input[name];
    if (v === undefined) continue;
    const key = name.toLowerCase();
    const value = typeof v === 'string' ? v : v.join(',');
    const prev = out[key];
    out[key] = prev === undefined ? value : `${prev},${value}`;
  }
  return out;
}

/**
 * Turns what an adapter received into the canonical {@link GatewayRequest}.
 * Throws {@link RequestError} for input that cannot be evaluated safely (denied with 400).
 */
export function normalize(raw: RawGatewayRequest, opts: NormalizeOptions = DEFAULT_NORMALIZE_OPTIONS): GatewayRequest {
  if (!METHOD_RE.test(raw.method)) throw new RequestError('invalid_method', 'invalid HTTP method');
  for (let i = 0; i < raw.target.length; i++) {
    const c = raw.target.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new RequestError('invalid_path', 'control character in request target');
  }
  const headers = lowerCaseHeaders(raw.headers);
  // Never from a client header: adapters pass the scheme their gateway vouches for.
  const scheme = (raw.scheme || 'http').toLowerCase();
  const { path, query } = splitTarget(raw.target);
  return {
    adapter: raw.adapter,
    method: raw.method.toUpperCase(),
    scheme,
    host: canonicalHost(raw.host, scheme),
    path: canonicalPath(path, opts.path),
    rawTarget: raw.target,
    query: parseQuery(query),
    headers,
    sourceIp: raw.sourceIp,
    principal: raw.principal === '' ? undefined : raw.principal,
    requestId: raw.requestId || headers['x-request-id'],
    metadata: raw.metadata,
    contextExtensions: raw.contextExtensions,
    facts: raw.facts,
    body: raw.body,
  };
}
