/** Our Kong plugin's POST /kong/v1/authorize body → RawGatewayRequest. Translation only. */
import type { RawGatewayRequest } from '../../gateway/request.js';
import { hostWithPort, kongFacts } from './facts.js';
import type { PluginRequest } from './schema.js';

export function fromPluginRequest(p: PluginRequest): RawGatewayRequest {
  const r = p.request;
  return {
    adapter: 'kong',
    method: r.method,
    // get_raw_path() + get_raw_query(): the target as the client sent it; normalize() decides.
    target: r.raw_query ? `${r.path}?${r.raw_query}` : r.path,
    host: hostWithPort(r.host, r.port),
    scheme: r.scheme,
    headers: r.headers ?? {},
    sourceIp: p.client_ip,
    facts: kongFacts(p),
    body: r.body,
    // Cut at the plugin's max_body_bytes, or not sent at all because nginx buffered it to a file.
    bodyPartial: r.body_truncated === true,
  };
}
