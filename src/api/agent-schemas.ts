/**
 * TypeBox schemas of the agent routes (registry, heartbeats, kill switch, commands): what the
 * ASCEND SDK sends and reads (docs/sdk.md). Like schemas.ts: bodies accept extra fields,
 * responses document what we promise and allow more.
 */
import { Type as T, type TSchema } from '@sinclair/typebox';
import { REGISTERED_AGENT_TYPES } from '../approvals/store/agent-records.js';
import { StringEnum } from '../config/schema.js';
import { AGENT_ID_PATTERN } from '../core/action.js';

const Nullable = <S extends TSchema>(s: S) => T.Union([s, T.Null()]);
const open = { additionalProperties: true } as const;
const Time = T.String({ description: 'ISO 8601' });
const agentId = (description?: string) => T.String({ pattern: AGENT_ID_PATTERN, ...(description ? { description } : {}) });
const AgentId = agentId();
const names = (description?: string) => T.Array(T.String({ minLength: 1, maxLength: 256 }), { maxItems: 256, default: [], ...(description ? { description } : {}) });
const Metadata = T.Record(T.String(), T.Unknown(), { default: {} });
const Text = (maxLength: number) => Nullable(T.String({ maxLength }));

export const AgentIdParams = T.Object({ agent_id: AgentId });
export const CommandParams = T.Object({ agent_id: AgentId, command_id: T.String({ minLength: 1, maxLength: 128 }) });

export const RegisterBody = T.Object({
  agent_id: AgentId,
  display_name: T.Optional(Text(256)),
  agent_type: T.Optional(StringEnum(REGISTERED_AGENT_TYPES, { default: 'supervised', description: 'agent.type in policy conditions' })),
  environment: T.Optional(Text(64)),
  capabilities: T.Optional(names('agent.capabilities in policy conditions')),
  allowed_resources: T.Optional(names()),
  sdk_version: T.Optional(Text(64)),
  metadata: T.Optional(Metadata),
});

export const UpdateBody = T.Object({
  display_name: T.Optional(Text(256)),
  agent_type: T.Optional(StringEnum(REGISTERED_AGENT_TYPES)),
  environment: T.Optional(Text(64)),
  capabilities: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 256 }), { maxItems: 256 })),
  allowed_resources: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 256 }), { maxItems: 256 })),
  sdk_version: T.Optional(Text(64)),
  metadata: T.Optional(T.Record(T.String(), T.Unknown())),
  model_id: T.Optional(T.Integer({ minimum: 1, description: 'the SDK\'s link_model_to_agent' })),
}, { minProperties: 1 });

export const AgentView = T.Object({
  agent_id: T.String(), display_name: Nullable(T.String()), agent_type: StringEnum(REGISTERED_AGENT_TYPES),
  environment: Nullable(T.String()), capabilities: T.Array(T.String()), allowed_resources: T.Array(T.String()),
  sdk_version: Nullable(T.String()), metadata: T.Record(T.String(), T.Unknown()), model_id: Nullable(T.Integer()),
  trust_level: StringEnum(['config', 'admin', 'self'] as const, {
    description: 'who vouches for type and capabilities: config (the config\'s agents: entry wins), admin (an admin key), self (the agent\'s own key)',
  }),
  status: StringEnum(['active', 'blocked'] as const), registered_by: T.String(), updated_by: T.String(),
  created_at: Time, updated_at: Time,
}, open);

export const RegisteredView = T.Composite([AgentView, T.Object({ created: T.Boolean({ description: 'false: it was registered already (200)' }) })], open);
export const UpdatedView = T.Object({ success: T.Literal(true), agent: AgentView, message: T.String() }, open);
export const DeletedView = T.Object({ success: T.Literal(true), agent_id: T.String(), message: T.String() }, open);

export const HeartbeatBody = T.Object({
  agent_id: T.Optional(Nullable(agentId('null or absent: the agent key\'s own agent'))),
  sdk_version: T.Optional(Text(64)),
  timestamp: T.Optional(Text(64)),
  response_time_ms: T.Optional(T.Number({ minimum: 0 })),
  error_rate: T.Optional(T.Number({ minimum: 0 })),
  requests_count: T.Optional(T.Integer({ minimum: 0 })),
});

export const HealthView = T.Object({
  agent_id: T.String(),
  status: StringEnum(['healthy', 'stale', 'offline', 'unknown'] as const, {
    description: 'healthy: a heartbeat within 120 s; stale: 120–300 s; offline: none for 300 s; unknown: never',
  }),
  last_heartbeat: Nullable(Time),
  uptime_seconds: Nullable(T.Integer({ description: 'since the first heartbeat of the current session' })),
  metadata: T.Record(T.String(), T.Unknown()),
}, open);

export const KillSwitchBody = T.Object({ reason: T.String({ minLength: 1, maxLength: 1000 }) });
export const LiftBody = T.Object({ reason: T.Optional(T.String({ minLength: 1, maxLength: 1000 })) });
export const StatusQuery = T.Object({
  agent_id: T.Optional(agentId('required for admin, approver and viewer keys; agent keys read their own')),
});

export const KillSwitchView = T.Object({
  agent_id: T.String(),
  active: T.Boolean(), is_active: T.Boolean({ description: 'the same as active (older SDKs read this)' }),
  reason: Nullable(T.String()), activated_at: Nullable(Time), activated_by: Nullable(T.String()),
}, open);

export const CommandView = T.Object({
  command_id: T.String(), agent_id: T.String(), command_type: StringEnum(['BLOCK', 'UNBLOCK'] as const),
  target_type: T.Literal('agent'), reason: Nullable(T.String()), parameters: T.Record(T.String(), T.Unknown()),
  status: StringEnum(['pending', 'acknowledged'] as const), issued_by: T.String(), issued_via: T.Literal('api'),
  created_at: Time, expires_at: Nullable(Time), acknowledged_at: Nullable(Time), is_broadcast: T.Boolean(),
}, open);

export const KillSwitchChangeView = T.Composite([KillSwitchView, T.Object({
  changed: T.Boolean({ description: 'false: the agent was already in that state; no command was queued' }),
  command: Nullable(CommandView),
})], open);

export const CommandsView = T.Object({ agent_id: T.String(), commands: T.Array(CommandView), count: T.Integer() });
export const AckView = T.Object({ success: T.Literal(true), command_id: T.String(), status: T.Literal('acknowledged') });
