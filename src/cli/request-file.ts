/**
 * The request a `check` or `test` file describes, in one of three shapes, with every field
 * checked against its shape: a misspelled key (`heders`, `pathh`) is an error naming it, never a
 * silently different request (`POST /` evaluated and `--expect` passing).
 *
 * - an HTTP request: `{method, path, host, headers, body, scheme, source_ip, principal, request_id, metadata}`
 *   (`body` a string, or any JSON value sent as JSON);
 * - an Envoy CheckRequest in proto3 JSON (`{attributes: …}`, as grpcurl prints it; field names in
 *   snake_case or lowerCamelCase);
 * - a Kong opa plugin `input` (`{input: {request: {http: …}}}`).
 */
import { checkRequestFromJson } from '../adapters/envoy/from-json.js';
import { fromCheckRequest } from '../adapters/envoy/from-check-request.js';
import { fromOpaInput } from '../adapters/kong-opa/from-opa-input.js';
import type { OpaRequest } from '../adapters/kong-opa/schema.js';
import type { RawGatewayRequest } from '../gateway/request.js';

export type RequestFormat = 'gateway_request' | 'envoy_check_request' | 'kong_opa_input';

/** A request file that does not describe a request: exit 2. */
export class RequestFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestFileError';
  }
}

/** Known keys per level; `'*'` = free-form below (headers, metadata, Kong entities). */
type Shape = { readonly [key: string]: Shape | '*' | 'leaf' };

const HTTP_REQUEST: Shape = {
  method: 'leaf', path: 'leaf', target: 'leaf', host: 'leaf', scheme: 'leaf', headers: '*', body: '*',
  source_ip: 'leaf', principal: 'leaf', request_id: 'leaf', metadata: '*',
};

const PEER: Shape = { address: '*', service: 'leaf', labels: '*', principal: 'leaf', certificate: 'leaf' };
/** envoy.service.auth.v3.CheckRequest, the fields this sidecar reads and the rest of AttributeContext. */
const ENVOY: Shape = {
  attributes: {
    source: PEER,
    destination: PEER,
    request: {
      time: 'leaf',
      http: {
        id: 'leaf', method: 'leaf', headers: '*', header_map: '*', path: 'leaf', host: 'leaf', scheme: 'leaf', query: 'leaf',
        fragment: 'leaf', size: 'leaf', protocol: 'leaf', body: 'leaf', raw_body: 'leaf',
      },
    },
    context_extensions: '*',
    metadata_context: '*',
    route_metadata_context: '*',
    tls_session: '*',
  },
};

const KONG_OPA: Shape = {
  input: {
    request: {
      http: {
        host: 'leaf', port: 'leaf', tls: '*', method: 'leaf', scheme: 'leaf', path: 'leaf', querystring: '*', headers: '*',
        body: 'leaf', body_size: 'leaf', parsed_body: '*', uri_captures: '*',
      },
    },
    client_ip: 'leaf', service: '*', route: '*', consumer: '*',
  },
};

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every key of `value` not in `shape`, as a dotted path. `camel`: lowerCamelCase names are accepted too (proto3 JSON). */
export function unknownFields(value: unknown, shape: Shape, camel = false, at = ''): string[] {
  if (!isObject(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const name = camel ? snake(k) : k;
    const sub = Object.prototype.hasOwnProperty.call(shape, name) ? shape[name] : undefined;
    const path = at === '' ? k : `${at}.${k}`;
    if (sub === undefined) out.push(path);
    else if (sub !== '*' && sub !== 'leaf') out.push(...unknownFields(v, sub, camel, path));
  }
  return out;
}

function refuseUnknown(value: unknown, shape: Shape, what: string, camel = false): void {
  const bad = unknownFields(value, shape, camel);
  if (bad.length === 0) return;
  const known = Object.keys(shape).join(', ');
  throw new RequestFileError(`unknown field${bad.length > 1 ? 's' : ''} ${bad.map((b) => `"${b}"`).join(', ')} in ${what} (the top level knows ${known})`);
}

const str = (j: Record<string, unknown>, k: string): string | undefined => {
  const v = j[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new RequestFileError(`"${k}" must be a string`);
  return v;
};

/** Our HTTP request shape → RawGatewayRequest. A non-string body is sent as JSON. */
function fromHttpRequest(j: Record<string, unknown>): RawGatewayRequest {
  const headers = j.headers ?? {};
  if (!isObject(headers) || !Object.values(headers).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))) {
    throw new RequestFileError('"headers" must map names to strings (or lists of strings)');
  }
  const h = headers as Record<string, string | string[]>;
  let body: string | undefined;
  if (typeof j.body === 'string') body = j.body;
  else if (j.body !== undefined) {
    body = JSON.stringify(j.body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  if (j.metadata !== undefined && !isObject(j.metadata)) throw new RequestFileError('"metadata" must be an object');
  return {
    adapter: 'cli',
    method: str(j, 'method') ?? 'GET',
    target: str(j, 'target') ?? str(j, 'path') ?? '/',
    host: str(j, 'host') ?? '',
    scheme: str(j, 'scheme'),
    headers: h,
    sourceIp: str(j, 'source_ip'),
    principal: str(j, 'principal'),
    requestId: str(j, 'request_id'),
    metadata: j.metadata as Record<string, unknown> | undefined,
    body,
  };
}

/** A request file's JSON → the request, its shape named; throws {@link RequestFileError}. */
export function requestFromJson(json: unknown, what = 'the request'): { raw: RawGatewayRequest; format: RequestFormat } {
  if (!isObject(json)) throw new RequestFileError(`${what} must be a JSON object`);
  if ('attributes' in json) {
    refuseUnknown(json, ENVOY, `${what} (an Envoy CheckRequest)`, true);
    return { raw: fromCheckRequest(checkRequestFromJson(json)), format: 'envoy_check_request' };
  }
  if ('input' in json) {
    refuseUnknown(json, KONG_OPA, `${what} (a Kong opa input)`);
    const http = (json.input as { request?: { http?: Record<string, unknown> } } | undefined)?.request?.http;
    if (!isObject(http) || typeof http.method !== 'string' || typeof http.path !== 'string') {
      throw new RequestFileError(`${what} (a Kong opa input) needs input.request.http.method and .path`);
    }
    return { raw: fromOpaInput(json as unknown as OpaRequest), format: 'kong_opa_input' };
  }
  refuseUnknown(json, HTTP_REQUEST, `${what} (an HTTP request)`);
  if (json.path === undefined && json.target === undefined) throw new RequestFileError(`${what} has no "path"`);
  return { raw: fromHttpRequest(json), format: 'gateway_request' };
}
