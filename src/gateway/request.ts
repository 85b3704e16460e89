/**
 * The one request shape every gateway adapter produces (docs/architecture.md, "GatewayRequest").
 *
 * Adapters fill a {@link RawGatewayRequest} with what their protocol carried, untouched;
 * `normalize()` turns it into a {@link GatewayRequest} whose fields are canonical, so route
 * matching, policy conditions, the cache key and the decision log all see the same request
 * whatever gateway sent it.
 */

/** Entry points, used as the `adapter` metric label. */
export const ADAPTERS = ['envoy', 'kong', 'kong_opa', 'forward_auth', 'api', 'cli', 'lambda'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export type HeaderInput = Record<string, string | readonly string[] | undefined>;
export type QueryMap = Record<string, string | string[]>;

/** Facts a gateway knows about the route/service/consumer (Kong), exposed to mapping. */
export interface GatewayFacts {
  route?: string;
  service?: string;
  consumer?: { id?: string; username?: string; custom_id?: string };
  credential?: string;
  /**
   * The consumer field that the gateway's own authentication vouches for as the agent id
   * (the Kong plugin's `agent_id_from`); tried first when no `consumer` identity source is
   * configured (mapping/identity.ts).
   */
  agentIdFrom?: 'username' | 'custom_id';
}

export interface RawGatewayRequest {
  adapter: AdapterName;
  method: string;
  /** Request target as the client sent it: path plus optional `?query`, not decoded. */
  target: string;
  /** Host or :authority as received; may carry a port or a trailing dot. */
  host: string;
  scheme?: string;
  headers: HeaderInput;
  /**
   * The adapter built `headers` itself as a null-prototype object with lower-case names and
   * repeated values joined by "," (the Envoy decoder does): normalize then reuses it, only
   * removing client `x-ascend-*` in place, instead of copying it.
   */
  headersCanonical?: boolean;
  sourceIp?: string;
  /** mTLS peer principal (SPIFFE ID) as verified by the gateway. */
  principal?: string;
  /**
   * The client certificate of the sidecar's own TLS connection (listeners/tls.ts
   * connectionPrincipal): who called the sidecar, not who called the gateway.
   */
  connectionPrincipal?: string;
  requestId?: string;
  /** Envoy filter_metadata namespaces (e.g. envoy.filters.http.jwt_authn) as plain JSON. */
  metadata?: Record<string, unknown>;
  contextExtensions?: Record<string, string>;
  facts?: GatewayFacts;
  /** When the gateway stops waiting (epoch ms), e.g. from gRPC `grpc-timeout`; bounds async work. */
  deadline?: number;
  /** The request body as the gateway forwarded it (Envoy with_request_body, Kong send_body, forward-auth). */
  body?: string;
  /**
   * The gateway sent only the start of the body (Kong plugin `body_truncated`, Envoy
   * `x-envoy-auth-partial-body: true`, which normalize() also reads): never taken as complete.
   */
  bodyPartial?: boolean;
  /** The body is JSON whatever the content type says (Kong opa `parsed_body`, already parsed by Kong). */
  bodyIsJson?: boolean;
}

export interface GatewayRequest {
  readonly adapter: AdapterName;
  /** Upper-cased method. */
  readonly method: string;
  readonly scheme: string;
  /** Lower-cased host without default port or trailing dot. */
  readonly host: string;
  /** Canonical path (see gateway/path.ts): decoded, dot segments resolved, slashes merged. */
  readonly path: string;
  /** The target exactly as received, for logs. */
  readonly rawTarget: string;
  readonly query: QueryMap;
  /** Lower-cased header names; repeated headers joined with ",". */
  readonly headers: Record<string, string>;
  /** Names of client-sent `x-ascend-*` headers: removed from `headers`, to be stripped upstream. */
  readonly clientAscendHeaders: readonly string[];
  readonly sourceIp: string | undefined;
  readonly principal: string | undefined;
  readonly connectionPrincipal: string | undefined;
  readonly requestId: string | undefined;
  readonly metadata: Record<string, unknown> | undefined;
  readonly contextExtensions: Record<string, string> | undefined;
  readonly facts: GatewayFacts | undefined;
  /** The raw body; parsed by mapping only where a route or policy reads it (gateway/body.ts). */
  readonly body: string | undefined;
  readonly bodyPartial: boolean;
  readonly bodyIsJson: boolean;
}
