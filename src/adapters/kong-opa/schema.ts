/**
 * The input Kong Enterprise's `opa` plugin posts (docs.konghq.com, kong-inc/opa, "OPA input
 * format"). `body`, `body_size`, `parsed_body`, `uri_captures`, `service`, `route` and
 * `consumer` appear only when the matching `include_*_in_opa_input` option is on. Objects
 * stay open: Kong sends whole entities and may add fields.
 */
import { Type as T, type Static } from '@sinclair/typebox';
import { MapOf } from '../../config/map-of.js';
import { ConsumerSchema, HeaderMapSchema, NamedEntitySchema, PortSchema } from '../kong/schema.js';

/** kong.request.get_query(): a value, a list for a repeated key, `true` for a key without `=`. */
const QueryValue = T.Union([T.String(), T.Boolean()]);
export const QueryMapSchema = MapOf(T.Union([QueryValue, T.Array(QueryValue)]));

export const OpaRequestSchema = T.Object({
  input: T.Object({
    request: T.Object({
      http: T.Object({
        method: T.String({ minLength: 1 }),
        scheme: T.Optional(T.String()),
        host: T.Optional(T.String()),
        port: T.Optional(PortSchema),
        path: T.String({ minLength: 1, description: 'kong.request.get_path(): normalized by Kong, no query' }),
        headers: T.Optional(HeaderMapSchema),
        querystring: T.Optional(QueryMapSchema),
        body: T.Optional(T.String()),
        parsed_body: T.Optional(T.Unknown()),
      }),
    }),
    client_ip: T.Optional(T.String()),
    service: T.Optional(NamedEntitySchema),
    route: T.Optional(NamedEntitySchema),
    consumer: T.Optional(ConsumerSchema),
  }),
});

export type OpaRequest = Static<typeof OpaRequestSchema>;
export type OpaQuery = Static<typeof QueryMapSchema>;
