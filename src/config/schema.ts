/**
 * The config schema: one TypeBox definition gives the static type, the validator (ajv,
 * with the path of every bad field) and the published JSON Schema (`schema` CLI command).
 * Every object is closed (`additionalProperties: false`) so a typo is an error, not a
 * silently ignored option. Fields with defaults are filled before validation.
 */
import { Type as T, type Static, type TSchema } from '@sinclair/typebox';
import {
  ApprovalsConfigSchema, StoreConfigSchema, WebhookDeliverySchema, WebhookSubscriptionSchema, WorkflowsSchema,
} from '../approvals/config.js';
import { AGENT_ID_PATTERN } from '../core/action.js';
import { H2_LIMIT_DEFAULTS } from '../grpc/h2/limits.js';
import { UNGOVERNED_METHODS } from '../mapping/mcp.js';
import { DEFAULT_REDACTED_BODY_KEYS, DEFAULT_REDACTED_HEADERS, DEFAULT_REDACTED_QUERY_KEYS } from '../observability/redact.js';
import { ForwardAuthSchema, GatewayAccessSchema, KongSchema } from './gateways.js';
import { MapOf } from './map-of.js';
import { PatternSecretSchema, SecretSchema } from './secrets.js';

/** A SHA-256 digest in lower-case hex. */
export const SHA256_HEX = '^[0-9a-f]{64}$';

const closed = { additionalProperties: false } as const;

/** A string enum that ajv reports as one "must be one of" error (a Union reports one per member). */
export function StringEnum<const V extends readonly string[]>(values: V, opts: { default?: V[number]; description?: string } = {}) {
  return T.Unsafe<V[number]>({ type: 'string', enum: [...values], ...opts });
}

const Port = T.Integer({ minimum: 0, maximum: 65535, description: '0 picks a free port' });
const HttpStatusCode = T.Integer({ minimum: 400, maximum: 599 });

/** TLS for one listener (server.tls, or a listener's own server.*_tls). */
export const TlsSchema = (description: string) => T.Object(
  {
    enabled: T.Boolean({ default: true, description: 'false: this listener stays plain text (e.g. server.http_tls: {enabled: false} under a server.tls for gRPC only)' }),
    cert_file: T.Optional(T.String({ minLength: 1, description: 'PEM certificate chain the listener presents; relative to the config file; re-read when it changes' })),
    key_file: T.Optional(T.String({ minLength: 1, description: 'PEM private key of cert_file; relative to the config file; re-read when it changes' })),
    client_ca_file: T.Optional(T.String({ minLength: 1, description: 'PEM CA bundle that client certificates are verified against; set: clients are asked for a certificate (mTLS)' })),
    require_client_cert: T.Boolean({ default: false, description: 'Refuse a connection without a client certificate that client_ca_file verifies; false: a client may connect without one (its principal is then unknown)' }),
    reload_interval_ms: T.Integer({ minimum: 100, default: 5000, description: 'How often the three files are checked for a change; a change takes effect for new connections, open ones keep theirs' }),
  },
  { ...closed, description },
);

export const ServerSchema = T.Object(
  {
    host: T.String({ default: '0.0.0.0', description: 'Address the gRPC and HTTP listeners bind to' }),
    grpc_port: T.Integer({ ...Port, default: 9191 }),
    http_port: T.Integer({ ...Port, default: 8181 }),
    grpc_max_receive_bytes: T.Integer({ minimum: 1024, default: 4 * 1024 * 1024 }),
    grpc_transport: StringEnum(['native', 'h2', 'grpc-js'] as const, {
      default: 'h2',
      description: 'gRPC server implementation: h2 (our own HTTP/2 on node:net, the default and fastest); native (node:http2: the baseline h2 is benchmarked and h2spec-checked against, not recommended for production); grpc-js (@grpc/grpc-js: the reference implementation and fallback). The grpc_max_concurrent_streams, grpc_*_output_* and grpc_max_control_frames_per_second limits apply to h2',
    }),
    grpc_max_concurrent_streams: T.Integer({
      minimum: 1, default: H2_LIMIT_DEFAULTS.maxConcurrentStreams,
      description: 'h2 transport: streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused with REFUSED_STREAM',
    }),
    grpc_connection_output_bytes: T.Integer({
      minimum: 65_536, default: H2_LIMIT_DEFAULTS.connectionOutputBytes,
      description: 'h2 transport: unsent output (answers its client has not read) at which a connection is no longer read; at 4 times this it is closed with GOAWAY ENHANCE_YOUR_CALM',
    }),
    grpc_output_budget_bytes: T.Integer({
      minimum: 1_048_576, default: H2_LIMIT_DEFAULTS.outputBudgetBytes,
      description: 'h2 transport: unsent output of all connections together; past it, a connection holding more than its share (this divided by the open connections) is closed with GOAWAY ENHANCE_YOUR_CALM',
    }),
    grpc_output_stall_timeout_ms: T.Integer({
      minimum: 100, default: H2_LIMIT_DEFAULTS.outputStallMs,
      description: 'h2 transport: a connection no longer read for its unsent output (grpc_connection_output_bytes) whose client has not read it all within this time is closed with GOAWAY ENHANCE_YOUR_CALM',
    }),
    grpc_max_control_frames_per_second: T.Integer({
      minimum: 10, default: H2_LIMIT_DEFAULTS.maxControlFramesPerSecond,
      description: 'h2 transport: PING and SETTINGS frames one connection may send per second, in bursts of at most a tenth of it (at least 10); more close it with GOAWAY ENHANCE_YOUR_CALM',
    }),
    drain_timeout_ms: T.Integer({ minimum: 0, default: 10_000, description: 'Grace period for in-flight checks on SIGTERM' }),
    http_request_timeout_ms: T.Integer({ minimum: 100, default: 10_000, description: 'An HTTP request (headers and body) must arrive within this time; on the native and h2 gRPC transports, a request message within this time after its headers' }),
    http_keep_alive_timeout_ms: T.Integer({
      minimum: 100, default: 15_000,
      description: 'An HTTP connection with no request in flight is closed after this long without a new one',
    }),
    max_connections: T.Integer({
      minimum: 1, default: 10_000,
      description: "Connections each listener (HTTP, gateway HTTP, gRPC) holds at most; more are closed as they are accepted. Read at start; lowered, the HTTP listeners' first, when all caps do not fit the open-file limit",
    }),
    max_connections_per_peer: T.Integer({
      minimum: 1, default: 1000,
      description: 'Connections one peer address holds at most on each listener; more are closed as they are accepted. Read at start',
    }),
    gateway_http_port: T.Optional(T.Integer({
      ...Port,
      description: 'Serve the gateway endpoints (Kong, Kong opa, forward-auth) on their own HTTP listener on this port, and no longer on http_port. Unset: they share http_port',
    })),
    gateway_host: T.String({ default: '127.0.0.1', description: 'Address the gateway listener binds to (only with gateway_http_port)' }),
    http_max_header_bytes: T.Integer({ minimum: 1024, maximum: 1_048_576, default: 16_384, description: 'Larger request headers are answered 431' }),
    http_max_headers: T.Integer({ minimum: 8, maximum: 10_000, default: 200, description: 'More request headers are answered 431' }),
    http_fast_path: T.Boolean({
      default: true,
      description: 'Answer the gateway endpoints\' common requests (Kong, Kong opa, forward-auth) and the REST API\'s submit (POST /api/v1/actions/submit with a key that does not sign) from node:http ahead of fastify; the answers are the same, at less CPU per request (bench/README.md). false: every request through fastify. Read at start',
    }),
    http_transport: StringEnum(['h1', 'node'] as const, {
      default: 'h1',
      description: "How the fast path (http_fast_path) reads HTTP: h1 (our own strict HTTP/1.1 server on the listener's sockets, after the TLS handshake on a TLS listener; any request outside its strict subset, and the connection from then on, goes to node:http unchanged) or node (node:http for every request). Read at start",
    }),
    tls: T.Optional(TlsSchema("TLS (and mTLS) for every listener; a listener's own grpc_tls, http_tls or gateway_http_tls replaces it. Read at start; the files are re-read when they change")),
    grpc_tls: T.Optional(TlsSchema('TLS of the gRPC (ext_authz) listener, in place of server.tls')),
    http_tls: T.Optional(TlsSchema('TLS of the HTTP listener, in place of server.tls')),
    gateway_http_tls: T.Optional(TlsSchema('TLS of the gateway HTTP listener (gateway_http_port), in place of server.tls')),
    heap_growth_percent: T.Integer({
      minimum: 0, maximum: 1000, default: 50,
      description: "How far V8's old space may grow past the live heap before a full GC, in percent (0: V8's own adaptive choice, up to 300). Read at start",
    }),
  },
  { ...closed, default: {} },
);

export const CacheSchema = T.Object(
  {
    enabled: T.Boolean({ default: true }),
    ttl_ms: T.Integer({ minimum: 0, default: 5000, description: '0 disables the cache' }),
    max_entries: T.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000, description: 'The table is allocated at start: about 75 bytes per entry' }),
  },
  { ...closed, default: {} },
);

export const IdentitySourceSchema = T.Object(
  {
    header: T.Optional(T.String({ minLength: 1, description: 'A header your gateway sets and strips from clients' })),
    jwt_claim: T.Optional(
      T.Object(
        {
          namespace: T.String({ default: 'envoy.filters.http.jwt_authn' }),
          payload_key: T.String({ default: 'jwt_payload' }),
          claim: T.String({ default: 'sub', description: 'Claim name; dots reach into nested claims' }),
        },
        closed,
      ),
    ),
    principal: T.Optional(
      T.Object(
        {
          trim_prefix: T.Optional(T.String({ description: 'Only principals with this prefix count; the rest is the agent id' })),
          from: StringEnum(['gateway', 'connection'] as const, {
            default: 'gateway',
            description: "gateway: the principal the gateway verified (Envoy's source.principal). connection: the client certificate of the sidecar's own TLS connection (server.tls with client_ca_file) — its SPIFFE or other URI SAN, else its subject CN; list it only where the sidecar's direct caller is the agent",
          }),
        },
        closed,
      ),
    ),
    consumer: T.Optional(
      T.Object(
        { field: StringEnum(['username', 'custom_id'] as const, { default: 'username', description: 'Which field of the Kong consumer is the agent id' }) },
        closed,
      ),
    ),
  },
  closed,
);

export const IdentitySchema = T.Object(
  {
    sources: T.Array(IdentitySourceSchema, { default: [] }),
    require_verified: T.Boolean({
      default: false,
      description: 'Only identities the gateway verified (jwt_authn claims, mTLS principal) count; header sources are refused',
    }),
  },
  { ...closed, default: {} },
);

export const AgentSchema = T.Object(
  {
    id: T.String({ minLength: 1 }),
    name: T.Optional(T.String()),
    type: StringEnum(['supervised', 'autonomous'] as const),
    capabilities: T.Array(T.String(), { default: [] }),
    principals: T.Optional(T.Array(T.String(), { description: 'mTLS principals (SPIFFE IDs) that identify this agent' })),
  },
  closed,
);

/** Condition values are checked by the condition compiler, which names the bad field. */
export const ConditionsSchema = MapOf(T.Unknown(), { default: {} });

export const RouteSchema = T.Object(
  {
    name: T.Optional(T.String()),
    match: T.Object(
      {
        methods: T.Optional(T.Array(T.String({ minLength: 1 }), { minItems: 1 })),
        hosts: T.Optional(T.Array(T.String({ minLength: 1 }), { minItems: 1 })),
        path: T.Optional(T.String({ minLength: 1 })),
        headers: T.Optional(ConditionsSchema),
      },
      { ...closed, default: {} },
    ),
    action_type: T.String({ minLength: 1 }),
    resource: T.String({ default: '{host}{path}' }),
    parameters: MapOf(T.Unknown(), {
      default: {},
      description: "Templates; on an mcp route, when empty, the call's arguments (tools/call, prompts/get)",
    }),
    context: MapOf(T.Unknown(), { default: {} }),
    body: T.Object(
      {
        on_invalid: StringEnum(['deny', 'ignore'] as const, {
          default: 'deny',
          description: 'A body this route reads that is too large (limits.max_body_bytes), too deep, of another type than JSON or form data, or that does not parse: deny (400 invalid_body) or ignore (evaluate as if there were no body)',
        }),
      },
      { ...closed, default: {}, description: 'How the request body is read where a template or a policy condition reads body.*' },
    ),
    mcp: T.Optional(T.Object(
      {
        govern: T.Array(T.String({ minLength: 1 }), {
          default: [],
          description: `Housekeeping methods (globs) to evaluate too; by default ${UNGOVERNED_METHODS.join(', ')} and responses pass without policy`,
        }),
        max_batch: T.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Messages one JSON-RPC batch may hold; more is denied invalid_mcp' }),
      },
      { ...closed, description: 'The body is MCP JSON-RPC 2.0 (streamable HTTP): one action per call, {mcp.method|tool|uri|prompt} in templates (docs/mcp.md)' },
    )),
  },
  closed,
);

export const PolicyActionSchema = StringEnum(['allow', 'deny', 'require_approval', 'flag'] as const);

export const PolicySchema = T.Object(
  {
    id: T.String({ minLength: 1 }),
    name: T.String({ default: '' }),
    description: T.Optional(T.String()),
    priority: T.Integer({ default: 0 }),
    enabled: T.Boolean({ default: true }),
    mode: StringEnum(['enforce', 'monitor'] as const, { default: 'enforce' }),
    conditions: ConditionsSchema,
    action: PolicyActionSchema,
    approvers: T.Optional(T.Array(T.String({ minLength: 1 }), { minItems: 1 })),
    workflow: T.Optional(T.String({ minLength: 1 })),
    reason: T.Optional(T.String({ description: 'Message returned with a denial' })),
  },
  closed,
);

/** `ab_tests[]` (README "A/B tests"): two policies compete for the requests either would decide. */
export const AbTestSchema = T.Object(
  {
    name: T.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'Unique; the id in the API, the metric label and the log' }),
    control_policy: T.String({ minLength: 1, description: 'The policy id that applies outside the test share, and after the test' }),
    test_policy: T.String({ minLength: 1, description: 'The policy id tried on traffic_split percent of the requests' }),
    traffic_split: T.Number({ minimum: 0, maximum: 100, description: 'Percent of the requests in the test (agent and action, bucketed deterministically) that get the test policy' }),
    duration_days: T.Number({ exclusiveMinimum: 0, maximum: 3650, description: 'After this the control policy applies and the test reports finished' }),
    start: T.Optional(T.String({ minLength: 1, description: 'When the test starts (ISO 8601); unset: when the sidecar first loads it' })),
    shadow: T.Boolean({ default: false, description: 'Enforce the control for everyone; evaluate the test policy beside it and count divergences' }),
  },
  closed,
);

const RiskPattern = T.Object({ match: T.String({ minLength: 1 }), score: T.Integer({ minimum: -100, maximum: 100 }) }, closed);

export const RiskSchema = T.Object(
  {
    base: T.Integer({ minimum: 0, maximum: 100, default: 10 }),
    action_types: T.Array(RiskPattern, { default: [], description: 'First match replaces the base score' }),
    resources: T.Array(RiskPattern, { default: [], description: 'Every match adds its score' }),
    environments: MapOf(T.Integer({ minimum: -100, maximum: 100 }), { default: { production: 20 } }),
    agent_types: MapOf(T.Integer({ minimum: -100, maximum: 100 }), {
      default: { autonomous: 20, supervised: 0 },
    }),
    unregistered_agent: T.Integer({ minimum: -100, maximum: 100, default: 30 }),
    write_method: T.Integer({ minimum: -100, maximum: 100, default: 15 }),
  },
  { ...closed, default: {} },
);

export const ResponsesSchema = T.Object(
  {
    denied_status: T.Integer({ ...HttpStatusCode, default: 403 }),
    pending_status: T.Integer({ ...HttpStatusCode, default: 403 }),
    retry_after_seconds: T.Integer({ minimum: 0, default: 30, description: 'retry-after on pending answers and on 429 too_many_pending denials' }),
    unavailable_status: T.Integer({
      ...HttpStatusCode, default: 503,
      description: 'Status of a fail_mode closed denial because the control plane (evaluator.mode remote) could not answer in time; sent with retry-after',
    }),
  },
  { ...closed, default: {} },
);

export const NormalizationSchema = T.Object(
  {
    encoded_slashes: StringEnum(['reject', 'decode'] as const, { default: 'reject' }),
    unknown_methods: StringEnum(['reject', 'allow'] as const, {
      default: 'reject',
      description: 'Methods outside the standard set and extra_methods: reject (HTTP 400) or allow',
    }),
    extra_methods: T.Array(T.String({ pattern: '^[A-Za-z][A-Za-z-]{0,31}$' }), { default: [] }),
    method_override: StringEnum(['ignore', 'honor', 'reject'] as const, {
      default: 'ignore',
      description: 'X-HTTP-Method-Override and friends: ignore, honor (evaluate the override), or reject (HTTP 400)',
    }),
  },
  { ...closed, default: {} },
);

export const DecisionLogSchema = T.Object(
  {
    enabled: T.Boolean({ default: true }),
    path: T.Optional(T.String({ minLength: 1, description: 'A file to append JSON lines to; stdout when unset' })),
    include_headers: T.Boolean({ default: false, description: 'Add request headers (secrets redacted)' }),
    include_body: T.Boolean({
      default: false,
      description: 'Add the request body (JSON or form data, values under secret keys redacted; any other body only as body_bytes). Off: no body ever reaches the log',
    }),
    redact: T.Object(
      {
        query: T.Array(T.String({ minLength: 1 }), {
          default: [],
          description: `Query keys (any case, percent-decoded) whose values are masked wherever a request target or URL is logged, besides the built-in ${DEFAULT_REDACTED_QUERY_KEYS.join(', ')}`,
        }),
        headers: T.Array(T.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), {
          default: [],
          description: `Header names whose values are masked in every log, besides the built-in ${DEFAULT_REDACTED_HEADERS.join(', ')}`,
        }),
        body_keys: T.Array(T.String({ minLength: 1 }), {
          default: [],
          description: `Body member names (any case, at any depth) whose values are masked when include_body is on, besides the built-in ${DEFAULT_REDACTED_BODY_KEYS.join(', ')}`,
        }),
      },
      { ...closed, default: {}, description: 'Secrets kept out of the decision log, the SIEM stream and error logs (values become [REDACTED]); extends the built-in lists, never shrinks them' },
    ),
  },
  { ...closed, default: {} },
);

export const LogSchema = T.Object(
  { level: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { default: 'info' }) },
  { ...closed, default: {} },
);

/** A token bucket: `burst` requests at once, refilled at `requests_per_second`. */
export const RateLimitSchema = (description: string) => T.Object(
  {
    requests_per_second: T.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'Sustained rate: tokens added per second' }),
    burst: T.Integer({ minimum: 1, maximum: 1_000_000, description: 'Bucket size: requests allowed at once after a quiet spell' }),
  },
  { ...closed, description },
);

/** `api_keys[]`: the REST API's callers (README "REST API" has the role matrix). */
export const ApiKeySchema = T.Object(
  {
    name: T.String({ minLength: 1, description: 'Who the key is: shown in logs, audit and as the approver name' }),
    role: StringEnum(['admin', 'approver', 'agent', 'viewer', 'gateway'] as const, {
      description: 'gateway: an edge sidecar (evaluator.mode remote): may submit and read actions for any agent, nothing else',
    }),
    sha256: PatternSecretSchema('SHA-256 hex of the key, as printed by `ascend-sidecar hash-key`', SHA256_HEX),
    groups: T.Optional(T.Array(T.String({ minLength: 1 }), { minItems: 1, description: 'Approver groups this key votes with' })),
    agent_id: T.Optional(T.String({ pattern: AGENT_ID_PATTERN, description: 'agent keys: the one agent this key evaluates as' })),
    signing_secret: T.Optional(SecretSchema(
      "The SDK's signing_secret: this key's requests with a non-empty JSON body must carry X-Signature (HMAC-SHA256) and X-Request-Timestamp",
    )),
    rate_limit: T.Optional(RateLimitSchema("This key's limit, instead of api.rate_limit")),
  },
  closed,
);

export const ApiSchema = T.Object(
  {
    public_url: T.Optional(T.String({ pattern: '^https?://[^/]+(/.*)?$', description: 'Base of absolute status URLs; a path when unset' })),
    batch_max: T.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
    page_max: T.Integer({ minimum: 1, maximum: 1000, default: 200, description: 'Largest `limit` of paged lists' }),
    environment: T.String({ minLength: 1, maxLength: 64, default: 'production', description: 'What GET /api/deployment-info reports as the environment (the ASCEND SDK shows it)' }),
    rate_limit: T.Optional(RateLimitSchema('Requests per API key (a bucket per key name); off when unset. Beyond it: 429 rate_limited with Retry-After')),
    allow_plaintext: T.Boolean({
      default: false,
      description: 'Accept API keys over plain-text HTTP from a non-loopback peer (e.g. behind a proxy that terminates TLS). false: such a request is refused 403 plaintext_not_allowed before its key is read; loopback peers and TLS connections are always accepted',
    }),
    allow_private_webhook_targets: T.Boolean({
      default: false,
      description: 'Let webhook subscriptions made through the API use http:// and point at loopback, private, link-local, CGNAT and metadata addresses (refused by default: SSRF)',
    }),
  },
  { ...closed, default: {} },
);

/** The approver console at /console on the HTTP listener (docs/console.md). */
export const ConsoleSchema = T.Object(
  {
    enabled: T.Boolean({ default: true, description: 'Serve the console at /console (it still needs `store:` for sessions and `api_keys` to log in)' }),
    session_ttl_minutes: T.Integer({ minimum: 1, maximum: 10_080, default: 480, description: 'How long a console session lasts after login (then log in again)' }),
    login_attempts_per_minute: T.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Login attempts per client address per minute; beyond: 429 with Retry-After' }),
  },
  { ...closed, default: {} },
);

export const AlertsSchema = T.Object(
  {
    risk_threshold: T.Optional(T.Integer({ minimum: 0, maximum: 100, description: 'alert when a decision scores at or above this' })),
    repeated_denials: T.Optional(
      T.Object({ count: T.Integer({ minimum: 2, default: 5 }), window_seconds: T.Integer({ minimum: 1, default: 300 }) }, closed),
    ),
    cooldown_seconds: T.Integer({ minimum: 0, default: 300, description: 'per agent and rule, between two alerts' }),
    max_agents: T.Integer({ minimum: 1, default: 10_000, description: 'agents tracked at once (oldest forgotten first)' }),
  },
  { ...closed, default: {} },
);

/** Bounds on what a request may carry, applied at every entry point before evaluation. */
export const LimitsSchema = T.Object(
  {
    max_json_depth: T.Integer({
      minimum: 2, maximum: 256, default: 32,
      description: 'Deepest nesting of objects and arrays in any JSON the sidecar reads (REST bodies, Kong and Kong-OPA inputs, parameters), counted from the root of the whole document; deeper is denied 400 too_deep',
    }),
    max_body_bytes: T.Integer({
      minimum: 1, maximum: 64 * 1024 * 1024, default: 1024 * 1024,
      description: 'Largest request body (forwarded by a gateway) that is parsed for body.* and MCP; larger is invalid_body (see routes[].body.on_invalid)',
    }),
  },
  { ...closed, default: {} },
);

export const AuditStreamSchema = T.Object(
  {
    enabled: T.Boolean({ default: false }),
    path: T.Optional(T.String({ minLength: 1, description: 'A file to append JSON lines to; stdout when unset' })),
  },
  { ...closed, default: {} },
);

/** A remote decision service's circuit breaker. */
export const BreakerSchema = T.Object(
  {
    failures: T.Integer({ minimum: 1, maximum: 1000, default: 5, description: 'Consecutive failed calls that open the breaker' }),
    open_ms: T.Integer({ minimum: 10, maximum: 600_000, default: 5000, description: 'How long an open breaker answers without calling (per fail_mode or from stale answers) before it lets probes through' }),
    half_open_probes: T.Integer({ minimum: 1, maximum: 100, default: 1, description: 'Calls let through at once while half-open; one success closes the breaker, one failure opens it again' }),
  },
  { ...closed, default: {} },
);

/** evaluator.bundle: decide locally with a control plane's signed policy bundle. */
export const BundleClientSchema = T.Object(
  {
    url: T.String({ pattern: '^https?://[^/?#]+/[^?#]*$', description: 'The bundle: {control plane}/api/v1/bundles/{name}; fetched with evaluator.api_key (a gateway key)' }),
    public_key_file: T.String({ minLength: 1, description: "The control plane's ed25519 public key (PEM); relative to the config file. A bundle whose signature it does not verify is refused" }),
    poll_interval_s: T.Integer({ minimum: 1, maximum: 86_400, default: 30, description: 'Seconds between polls (If-None-Match: an unchanged bundle costs a 304)' }),
    cache_file: T.String({ minLength: 1, default: './data/ascend-bundle.json', description: 'The last good bundle, as received (signature included): a cold start while the control plane is down runs it' }),
    timeout_ms: T.Integer({ minimum: 100, maximum: 60_000, default: 5000, description: 'Per poll' }),
  },
  closed,
);

/** The control plane's side: serve the active policy as signed bundles. */
export const BundlesSchema = T.Object(
  {
    signing_key_file: T.String({ minLength: 1, description: 'ed25519 private key (PKCS#8 PEM; `openssl genpkey -algorithm ed25519`); relative to the config file; re-read on reload' }),
    names: T.Array(T.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }), { minItems: 1, default: ['default'], description: 'Names served at GET /api/v1/bundles/{name} (each the same policy; an edge refuses a bundle of another name)' }),
  },
  closed,
);

/** evaluator.tls: TLS (and mTLS) to the control plane, for remote evaluation and bundle polls. */
export const ClientTlsSchema = T.Object(
  {
    ca_file: T.Optional(T.String({ minLength: 1, description: "PEM CA bundle the control plane's certificate is verified against, in place of the system CAs; relative to the config file; re-read on reload" })),
    cert_file: T.Optional(T.String({ minLength: 1, description: 'PEM client certificate the edge presents (mTLS; with key_file); relative to the config file; re-read on reload' })),
    key_file: T.Optional(T.String({ minLength: 1, description: 'PEM private key of cert_file; relative to the config file; re-read on reload' })),
    server_name: T.Optional(T.String({ minLength: 1, description: "The name the control plane's certificate must be valid for (and the SNI sent), when it is not the URL's host" })),
  },
  closed,
);

/**
 * Where decisions are taken: here from the config (local, the default), or by a control plane
 * (remote: another ascend-sidecar or ASCEND, through the SDK's POST /api/v1/actions/submit).
 */
export const EvaluatorSchema = T.Object(
  {
    mode: StringEnum(['local', 'remote'] as const, { default: 'local', description: 'local: decide from this config (and `bundle`, when set); remote: ask the control plane at `url` for what the cache cannot answer' }),
    url: T.Optional(T.String({ pattern: '^https?://[^/?#]+(/[^?#]*)?$', description: 'remote: the control plane base URL (an ascend-sidecar, or an ASCEND API base URL)' })),
    api_key: T.Optional(SecretSchema('remote, bundle: the API key the edge presents to the control plane (role gateway on an ascend-sidecar)')),
    timeout_ms: T.Integer({ minimum: 1, maximum: 60_000, default: 200, description: "remote: per call; never past the gateway's own deadline (grpc-timeout), of which a quarter is kept as the margin to answer in" }),
    stale_if_error_ms: T.Integer({
      minimum: 0, maximum: 86_400_000, default: 30_000,
      description: 'remote: how long after a cached answer expired it may still be served (marked x-ascend-stale: true) while the control plane cannot answer; 0: never',
    }),
    connections: T.Integer({ minimum: 1, maximum: 1024, default: 32, description: 'remote: keep-alive connections to the control plane at most' }),
    breaker: BreakerSchema,
    bundle: T.Optional(BundleClientSchema),
    tls: T.Optional(ClientTlsSchema),
  },
  { ...closed, default: {} },
);

/** OpenTelemetry tracing (observability/tracing.ts). Read at start. */
export const TracingSchema = T.Object(
  {
    enabled: T.Boolean({ default: false, description: 'Export one span per check (and child spans for store and control-plane calls) over OTLP/HTTP; off: no tracer exists and checks pay nothing' }),
    endpoint: T.String({ pattern: '^https?://', default: 'http://127.0.0.1:4318/v1/traces', description: "The collector's OTLP/HTTP traces URL (JSON encoding)" }),
    service_name: T.String({ minLength: 1, default: 'ascend-sidecar', description: 'The service.name resource attribute' }),
    sample_ratio: T.Number({ minimum: 0, maximum: 1, default: 1, description: "Share of new traces recorded; a gateway's traceparent decides for the traces it started (its sampled flag is followed)" }),
    headers: MapOf(SecretSchema('A header sent with every export (e.g. a collector token)'), { keys: T.String({ pattern: '^[A-Za-z0-9-]+$' }), default: {}, description: 'Extra HTTP headers on every export; each value may come from {env} or {file}' }),
    export_timeout_ms: T.Integer({ minimum: 100, maximum: 60_000, default: 10_000, description: 'One export request at most' }),
    batch_delay_ms: T.Integer({ minimum: 10, maximum: 60_000, default: 5000, description: 'Finished spans are exported in a batch at least this often (and when 512 are waiting)' }),
  },
  { ...closed, default: {} },
);

export const ConfigSchema = T.Object(
  {
    server: ServerSchema,
    mode: StringEnum(['enforce', 'monitor'] as const, { default: 'enforce', description: 'monitor: flag instead of deny' }),
    default_decision: StringEnum(['allow', 'deny'] as const, { default: 'deny' }),
    fail_mode: StringEnum(['closed', 'open'] as const, { default: 'closed' }),
    evaluator: EvaluatorSchema,
    bundles: T.Optional(BundlesSchema),
    cache: CacheSchema,
    identity: IdentitySchema,
    agents: T.Array(AgentSchema, { default: [] }),
    routes: T.Array(RouteSchema, { default: [] }),
    policies: T.Array(PolicySchema, { default: [] }),
    ab_tests: T.Array(AbTestSchema, { default: [] }),
    risk: RiskSchema,
    responses: ResponsesSchema,
    normalization: NormalizationSchema,
    limits: LimitsSchema,
    decision_log: DecisionLogSchema,
    log: LogSchema,
    kong: KongSchema,
    forward_auth: ForwardAuthSchema,
    gateway_access: GatewayAccessSchema,
    // Issue 4: durable state, approvals, REST API, webhooks, alerts, SIEM stream. Without
    // `store` none of it persists and a pending decision is answered as in the core config.
    store: T.Optional(StoreConfigSchema),
    approvals: T.Optional(ApprovalsConfigSchema),
    workflows: T.Optional(WorkflowsSchema),
    webhooks: T.Array(WebhookSubscriptionSchema, { default: [] }),
    webhook_delivery: T.Optional(WebhookDeliverySchema),
    api_keys: T.Array(ApiKeySchema, { default: [] }),
    api: ApiSchema,
    console: ConsoleSchema,
    alerts: AlertsSchema,
    audit_stream: AuditStreamSchema,
    tracing: TracingSchema,
  },
  closed,
);

export type Config = Static<typeof ConfigSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
export type PolicyConfig = Static<typeof PolicySchema>;
export type AgentConfig = Static<typeof AgentSchema>;
export type IdentitySourceConfig = Static<typeof IdentitySourceSchema>;
export type TlsConfig = Static<ReturnType<typeof TlsSchema>>;
export type TracingConfig = Static<typeof TracingSchema>;
export type RiskConfig = Static<typeof RiskSchema>;
export type ApiKeyConfig = Static<typeof ApiKeySchema>;
export type RateLimitConfig = Static<ReturnType<typeof RateLimitSchema>>;
export type AlertsConfig = Static<typeof AlertsSchema>;
export type ConsoleConfig = Static<typeof ConsoleSchema>;
export type EvaluatorConfig = Static<typeof EvaluatorSchema>;
export type BundleClientConfig = Static<typeof BundleClientSchema>;
export type ConfigTSchema = TSchema;
