/**
 * The wire contract with our Kong plugin (deploy/kong, README "What the plugin sends"),
 * pinned by test/fixtures/kong/plugin-requests.json. Objects stay open so a newer plugin
 * may add fields; Kong entity fields may be JSON null (ngx.null), which counts as absent.
 */
import { Type as T, type Static, type TSchema } from '@sinclair/typebox';
import { MapOf } from '../../config/map-of.js';
import { StringEnum } from '../../config/schema.js';

const OrNull = <S extends TSchema>(s: S) => T.Union([s, T.Null()]);
const Text = OrNull(T.String());

/** Header names → one value, or a list when the header was sent more than once. */
export const HeaderMapSchema = MapOf(T.Union([T.String(), T.Array(T.String())]));
/** Kong's `kong.request.get_port()` is a number; Kong's own OPA docs show a string. */
export const PortSchema = T.Union([T.Integer({ minimum: 0, maximum: 65535 }), T.String({ pattern: '^[0-9]{1,5}$' })]);
/** A route or a service: only its id and name are read. */
export const NamedEntitySchema = T.Object({ id: T.Optional(Text), name: T.Optional(Text) });
export const ConsumerSchema = T.Object({ id: T.Optional(Text), username: T.Optional(Text), custom_id: T.Optional(Text) });

export const PluginRequestSchema = T.Object({
  request: T.Object({
    method: T.String({ minLength: 1 }),
    scheme: T.Optional(T.String()),
    host: T.String(),
    port: T.Optional(PortSchema),
    path: T.String({ minLength: 1, description: 'kong.request.get_raw_path(): raw, not normalized' }),
    raw_query: T.Optional(T.String()),
    headers: T.Optional(HeaderMapSchema),
    body: T.Optional(T.String()),
    body_truncated: T.Optional(T.Boolean()),
  }),
  client_ip: T.Optional(T.String()),
  consumer: T.Optional(ConsumerSchema),
  credential: T.Optional(T.Object({ id: T.Optional(Text) })),
  route: T.Optional(NamedEntitySchema),
  service: T.Optional(NamedEntitySchema),
  agent_id_from: T.Optional(StringEnum(['username', 'custom_id', 'none'] as const)),
});

const Millis = T.Number();

export const CompletionSchema = T.Object({
  action_id: T.String({ minLength: 1, maxLength: 128 }),
  upstream_status: T.Optional(T.Integer({ minimum: 0, maximum: 999 })),
  latencies: T.Optional(T.Object({ request: T.Optional(Millis), proxy: T.Optional(Millis), kong: T.Optional(Millis) })),
});

export type PluginRequest = Static<typeof PluginRequestSchema>;
export type CompletionRequest = Static<typeof CompletionSchema>;
export type NamedEntity = Static<typeof NamedEntitySchema>;
export type KongConsumer = Static<typeof ConsumerSchema>;
