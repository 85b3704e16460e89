/**
 * Config of the HTTP gateway entry points (Kong plugin endpoint, Kong Enterprise `opa`
 * plugin endpoint, forward-auth) and of who may call them. Kept apart from schema.ts so each
 * gateway's options sit together; schema.ts mounts them as `kong`, `forward_auth` and
 * `gateway_access`. Route paths and body limits are read when the HTTP listener starts;
 * `trusted_proxies` and `gateway_access` are reloadable.
 */
import { Type as T, type Static } from '@sinclair/typebox';
import { SecretSchema } from './secrets.js';

const closed = { additionalProperties: false } as const;
const MiB = 1024 * 1024;

export const KongSchema = T.Object(
  {
    body_limit_bytes: T.Integer({
      minimum: 1024,
      default: 2 * MiB,
      description:
        'Largest request body on POST /kong/v1/authorize and POST /v1/data/* (Kong opa plugin). The plugin sends up to 256 KiB of request body, which JSON escaping can grow up to 6x.',
    }),
  },
  { ...closed, default: {} },
);

export const ForwardAuthSchema = T.Object(
  {
    path: T.String({
      pattern: '^(/[A-Za-z0-9._~-]+)+$',
      default: '/forward-auth',
      description: 'nginx/Traefik call this path; Envoy http_service calls it with the original path appended (path_prefix)',
    }),
    trusted_proxies: T.Array(T.String({ minLength: 1 }), {
      default: ['127.0.0.1/8', '::1/128'],
      description: 'Peers (IP or CIDR) whose X-Original-* / X-Forwarded-* headers describe the original request',
    }),
    body_limit_bytes: T.Integer({
      minimum: 0,
      default: MiB,
      description: 'Largest original-request body (Envoy with_request_body, Traefik forwardBody); larger bodies get 413',
    }),
  },
  { ...closed, default: {} },
);

export const GatewayAccessSchema = T.Object(
  {
    allowed_peers: T.Array(T.String({ minLength: 1 }), {
      default: ['127.0.0.0/8', '::1/128'],
      description:
        'TCP peers (IP or CIDR) that may call the gateway endpoints (Kong, Kong opa, forward-auth, /kong/v1/complete); any other peer gets 403 peer_not_allowed. The default, loopback, fits a sidecar in the gateway\'s pod or host',
    }),
    token: T.Optional(
      SecretSchema(
        'When set, gateway calls must also carry it in x-ascend-gateway-token (else 401 gateway_token_required): the value, {env: NAME} or {file: PATH}',
      ),
    ),
  },
  { ...closed, default: {} },
);

export type GatewayAccessConfig = Static<typeof GatewayAccessSchema>;
