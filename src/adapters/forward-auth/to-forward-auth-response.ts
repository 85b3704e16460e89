/**
 * CheckResult → the forward-auth answer. nginx, Traefik and Envoy http_service all read the
 * status first: 2xx allows (nginx copies headers with `auth_request_set`, Traefik with
 * `authResponseHeaders`, Envoy with `allowed_upstream_headers`); 401/403 and other 4xx deny;
 * a 5xx is an *error* (nginx 500, Envoy's failure_mode_allow decides), so a denial is never
 * answered with one, whatever status the config names.
 */
import type { CheckResult } from '../../pipeline/result.js';
import { decisionHeaderObject, denialBody, jsonRpcErrorBody, staleAscendHeaders } from '../render.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Envoy http_service: headers to strip from the upstream request, comma-separated. */
export const ENVOY_HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

export function toForwardAuthResponse(r: CheckResult): HttpAnswer {
  const d = r.decision;
  const headers = decisionHeaderObject(r);
  if (d.decision === 'allowed') {
    // Client copies of x-ascend-* that our headers do not overwrite must not reach the upstream.
    const stale = staleAscendHeaders(r, headers, Object.hasOwn);
    if (stale.length > 0) headers[ENVOY_HEADERS_TO_REMOVE] = stale.join(', ');
    return { status: 200, headers, body: undefined };
  }
  return {
    status: d.httpStatus >= 500 ? 403 : d.httpStatus,
    headers: { 'content-type': 'application/json', ...headers },
    // An MCP client gets a JSON-RPC error body, but never status 200: to nginx and Traefik a 2xx allows.
    body: r.mcp === undefined ? denialBody(r) : jsonRpcErrorBody(r),
  };
}
