/**
 * A real grpc-js client for ext_authz v3 and grpc.health.v1, built with proto-loader from the
 * project's protos (full decoding, so tests see exactly what Envoy would parse).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR, AUTHZ_PROTO, HEALTH_PROTO } from '../../src/adapters/envoy/protos.js';

const pkg = protoLoader.loadSync([AUTHZ_PROTO, HEALTH_PROTO], {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
  envoy: { service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } } } };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

export interface HeaderOption {
  header: { key: string; value: string };
  append_action?: string;
}

export interface CheckResponse {
  status: { code?: number; message?: string };
  http_response?: 'ok_response' | 'denied_response' | 'error_response';
  ok_response?: { headers?: HeaderOption[]; headers_to_remove?: string[] };
  denied_response?: { status?: { code: string }; headers?: HeaderOption[]; body?: string };
  dynamic_metadata?: { fields: Record<string, { stringValue?: string; numberValue?: number; boolValue?: boolean }> };
}

export interface CheckInput {
  method?: string;
  path: string;
  host?: string;
  scheme?: string;
  headers?: Record<string, string>;
  principal?: string;
  sourceIp?: string;
  jwtPayload?: Record<string, unknown>;
  body?: string;
  id?: string;
}

function toValue(v: unknown): unknown {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Record<string, unknown>) };
}

export function toStruct(o: Record<string, unknown>): unknown {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toValue(v)])) };
}

/** A CheckRequest object shaped the way Envoy fills it. */
export function checkRequest(i: CheckInput): unknown {
  const http: Record<string, unknown> = {
    id: i.id ?? 'req-1',
    method: i.method ?? 'GET',
    path: i.path,
    host: i.host ?? 'api.internal',
    scheme: i.scheme ?? 'http',
    protocol: 'HTTP/1.1',
    headers: { ':authority': i.host ?? 'api.internal', ':method': i.method ?? 'GET', ':path': i.path, ...(i.headers ?? {}) },
  };
  if (i.body !== undefined) http.body = i.body;
  const attributes: Record<string, unknown> = {
    source: {
      address: { socket_address: { address: i.sourceIp ?? '10.0.0.7', port_value: 40000 } },
      ...(i.principal ? { principal: i.principal } : {}),
    },
    request: { http },
  };
  if (i.jwtPayload) {
    attributes.metadata_context = {
      filter_metadata: { 'envoy.filters.http.jwt_authn': toStruct({ jwt_payload: i.jwtPayload }) },
    };
  }
  return { attributes };
}

export class AuthzClient {
  private readonly client: grpc.Client & Record<string, (...a: unknown[]) => unknown>;
  private readonly health: grpc.Client & Record<string, (...a: unknown[]) => unknown>;

  /** `ownConnection`: do not share grpc-js's global subchannel pool (one TCP connection per client). */
  /** `credentials`: TLS (grpc.credentials.createSsl); plain text by default. */
  constructor(port: number, opts: { ownConnection?: boolean; options?: grpc.ChannelOptions; credentials?: grpc.ChannelCredentials } = {}) {
    const addr = `127.0.0.1:${port}`;
    const options = { ...(opts.ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {}), ...opts.options };
    const credentials = opts.credentials ?? grpc.credentials.createInsecure();
    this.client = new loaded.envoy.service.auth.v3.Authorization(addr, credentials, options) as never;
    this.health = new loaded.grpc.health.v1.Health(addr, credentials, options) as never;
  }

  /** `deadline` (ms since the epoch) is sent as grpc-timeout; past it the call fails DEADLINE_EXCEEDED. */
  checkRaw(request: unknown, opts: { deadline?: number } = {}): Promise<CheckResponse> {
    return new Promise((resolve, reject) => {
      this.client.Check!(request, opts, (err: Error | null, res: CheckResponse) => (err ? reject(err) : resolve(res)));
    });
  }

  check(i: CheckInput, opts: { deadline?: number } = {}): Promise<CheckResponse> {
    return this.checkRaw(checkRequest(i), opts);
  }

  healthCheck(service = ''): Promise<{ status: string }> {
    return new Promise((resolve, reject) => {
      this.health.Check!({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res)));
    });
  }

  close(): void {
    this.client.close();
    this.health.close();
  }
}

/** Header value from an ok_response or denied_response. */
export function header(res: CheckResponse, name: string): string | undefined {
  const list = res.ok_response?.headers ?? res.denied_response?.headers ?? [];
  return list.find((h) => h.header.key === name)?.header.value;
}

export function decisionOf(res: CheckResponse): string | undefined {
  return header(res, 'x-ascend-decision');
}

export function metadata(res: CheckResponse, key: string): unknown {
  const f = res.dynamic_metadata?.fields[key];
  return f?.stringValue ?? f?.numberValue ?? f?.boolValue;
}
