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

/** Re-encodes the query map; `true` (a key without `=`) becomes a bare key. */
export function queryString(q: OpaQuery | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const key in q) {
    const v = q[key];
    const k = encodeURIComponent(key);
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item === true) parts.push(k);
      else if (typeof item === 'string') parts.push(`${k}=${encodeURIComponent(item)}`);
    }
  }
  return parts.join('&');
}

export function fromOpaInput(body: OpaRequest): RawGatewayRequest {
  const { input } = body;
  const h = input.request.http;
  const headers = h.headers ?? {};
  const query = queryString(h.querystring);
  // `?` and `#` cannot be part of a normalized path: keep them from starting a query or fragment.
  const path = h.path.replace(/[?#]/g, (c) => (c === '?' ? '%3F' : '%23'));
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
