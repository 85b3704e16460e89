/**
 * An Envoy CheckRequest in proto3 JSON (as `grpcurl` or Envoy's docs print it, camelCase or
 * the original snake_case names) → the same {@link EnvoyCheck} the binary decoder yields,
 * so `ascend-sidecar check` runs exactly the path the gRPC server does.
 */
import type { EnvoyCheck } from './decode-check-request.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Field by its proto name or its lowerCamelCase JSON name. */
function field(o: unknown, snake: string): unknown {
  if (!isObj(o)) return undefined;
  if (snake in o) return o[snake];
  const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return o[camel];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[k] = str(val);
  return out;
}

function filterMetadata(meta: unknown): Record<string, unknown> | undefined {
  const fm = field(meta, 'filter_metadata');
  return isObj(fm) ? fm : undefined;
}

function peerAddress(peer: unknown): string | undefined {
  const sock = field(field(peer, 'address'), 'socket_address');
  const a = field(sock, 'address');
  return typeof a === 'string' ? a : undefined;
}

export function checkRequestFromJson(json: unknown): EnvoyCheck {
  const attrs = field(json, 'attributes');
  const http = field(field(attrs, 'request'), 'http');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(stringMap(field(http, 'headers')) ?? {})) headers[k.toLowerCase()] = v;
  const hm = field(field(http, 'header_map'), 'headers');
  if (Array.isArray(hm)) {
    for (const h of hm) {
      const k = str(field(h, 'key')).toLowerCase();
      const raw = field(h, 'raw_value');
      const v = typeof raw === 'string' ? Buffer.from(raw, 'base64').toString('utf8') : str(field(h, 'value'));
      headers[k] = headers[k] === undefined ? v : `${headers[k]},${v}`;
    }
  }
  const rawBody = field(http, 'raw_body');
  const principal = (p: unknown): string | undefined => {
    const v = field(p, 'principal');
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const sni = field(field(attrs, 'tls_session'), 'sni');
  return {
    id: str(field(http, 'id')),
    method: str(field(http, 'method')),
    path: str(field(http, 'path')),
    host: str(field(http, 'host')),
    scheme: str(field(http, 'scheme')),
    protocol: str(field(http, 'protocol')),
    size: Number(field(http, 'size') ?? -1),
    body: typeof rawBody === 'string' && rawBody !== '' ? Buffer.from(rawBody, 'base64').toString('utf8') : str(field(http, 'body')),
    headers,
    sourceAddress: peerAddress(field(attrs, 'source')),
    sourcePrincipal: principal(field(attrs, 'source')),
    destinationPrincipal: principal(field(attrs, 'destination')),
    contextExtensions: stringMap(field(attrs, 'context_extensions')),
    metadata: filterMetadata(field(attrs, 'metadata_context')),
    routeMetadata: filterMetadata(field(attrs, 'route_metadata_context')),
    sni: typeof sni === 'string' ? sni : undefined,
  };
}
