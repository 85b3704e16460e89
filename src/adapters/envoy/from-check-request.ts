/** Envoy CheckRequest (decoded) → RawGatewayRequest. Translation only; no policy logic. */
import type { RawGatewayRequest } from '../../gateway/request.js';
import type { EnvoyCheck } from './decode-check-request.js';

export function fromCheckRequest(c: EnvoyCheck): RawGatewayRequest {
  const h = c.headers;
  return {
    adapter: 'envoy',
    method: c.method || h[':method'] || '',
    // Envoy's path is the request target with the query, not percent-decoded.
    target: c.path || h[':path'] || '',
    host: c.host || h[':authority'] || h.host || '',
    scheme: c.scheme || h[':scheme'] || undefined,
    headers: h,
    headersCanonical: true,
    sourceIp: c.sourceAddress,
    principal: c.sourcePrincipal,
    requestId: c.id || h['x-request-id'] || undefined,
    metadata: c.metadata,
    contextExtensions: c.contextExtensions,
    body: c.body === '' ? undefined : c.body,
  };
}
