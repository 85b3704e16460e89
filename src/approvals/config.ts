/**
 * Config fragments this layer reads, as TypeBox schemas (one schema → static type + validator +
 * published JSON Schema) for the root config schema to compose. Keys follow issue 4's contract:
 *
 *   store: {path: ./data/ascend.db}          # or {driver: postgres, url: …} for a fleet
 *   webhooks: [{url, events, secret}]
 *   approvals: {grant: single_use}            # or {grant: ttl, ttl_seconds: 600}
 *
 * plus optional keys with defaults that keep that contract config behaving as written.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { MapOf } from '../config/map-of.js';
import { SecretSchema } from '../config/secrets.js';
import { NOTIFICATION_FORMATS } from '../events/formats/index.js';
import { EVENT_TYPES } from '../events/types.js';
import { singleStepWorkflow, validateWorkflow, type WorkflowDefinition } from './workflow.js';

const Groups = Type.Array(Type.String({ minLength: 1 }), { minItems: 1 });

export const WorkflowSchema = Type.Object({
  steps: Type.Array(Type.Object({
    approvers: Groups,
    required: Type.Integer({ minimum: 1, default: 1 }),
    timeout_hours: Type.Number({ exclusiveMinimum: 0, default: 24 }),
  }, { additionalProperties: false }), { minItems: 1 }),
  escalation: Type.Optional(Type.Object({
    timeout_action: Type.Union([Type.Literal('escalate'), Type.Literal('deny'), Type.Literal('approve')], { default: 'deny' }),
    escalation_approvers: Type.Optional(Groups),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

/** Top-level `workflows: {name: workflow}`; policies refer to them by name. */
export const WorkflowsSchema = MapOf(WorkflowSchema, { keys: Type.String({ minLength: 1 }) });

export const StoreConfigSchema = Type.Object({
  driver: Type.Optional(Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], {
    description: 'sqlite (also when absent): a file of this sidecar\'s own at `path`. postgres: one database at `url` shared by every replica of a fleet (approvals, grants, agents, kill switch, webhooks, audit, outbox; docs/fleet.md)',
  })),
  path: Type.String({ minLength: 1, default: './data/ascend.db', description: 'sqlite: the database file' }),
  /** full: survives power loss; normal: survives kill -9 only (see store/sqlite/open.ts). */
  synchronous: Type.Union([Type.Literal('full'), Type.Literal('normal')], { default: 'full' }),
  url: Type.Optional(SecretSchema('postgres: the connection URL, postgres://user:password@host:5432/database (?sslmode=require …); when absent, the environment variable ASCEND_STORE_URL')),
  pool_max: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'postgres: connections per sidecar process at most (docs/fleet.md sizes it)' }),
  statement_timeout_ms: Type.Integer({ minimum: 1, default: 2000, description: 'postgres: the server cancels a statement running longer (statement_timeout)' }),
  schema: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', default: 'ascend', description: 'postgres: the schema holding the tables; created and migrated at start' }),
  /** Audit rows older than this are purged. */
  audit_retention_days: Type.Integer({ minimum: 1, default: 30 }),
  audit_buffer_rows: Type.Integer({
    minimum: 1, default: 100_000,
    description: 'Audit rows kept in memory while the store fails; beyond it the oldest are dropped and counted in ascend_audit_dropped_total',
  }),
}, { additionalProperties: false });

export const ApprovalsConfigSchema = Type.Object({
  grant: Type.Union([Type.Literal('single_use'), Type.Literal('ttl')], { default: 'single_use' }),
  /** ttl: how long the grant is reusable (default 600). single_use: how long it waits for its one use (default 86400). */
  ttl_seconds: Type.Optional(Type.Integer({ minimum: 1 })),
  /** How long a denial answers retries of the same action before a new approval may be requested. */
  denial_ttl_seconds: Type.Integer({ minimum: 0, default: 86_400 }),
  /** Timeout of the one-step workflow a policy's plain `approvers` list stands for. */
  default_timeout_hours: Type.Number({ exclusiveMinimum: 0, default: 24 }),
  max_pending_per_agent: Type.Integer({
    minimum: 1, default: 100,
    description: 'Pending approvals one agent may hold at once (agents without an identity share one count); beyond it a new approval is denied with HTTP 429, code too_many_pending. A retry of an action already pending is not a new approval',
  }),
  max_pending_total: Type.Integer({
    minimum: 1, default: 10_000,
    description: 'Pending approvals in the whole store at once; beyond it a new approval is denied with HTTP 429, code too_many_pending',
  }),
  separation_of_duties: Type.Boolean({
    default: true,
    description: 'The API key that requested an action may not vote on its approval (403 self_approval), whatever its role and groups',
  }),
}, { additionalProperties: false });

export const WebhookSubscriptionSchema = Type.Object({
  url: Type.String({ pattern: '^https?://' }),
  events: Type.Array(Type.Union([...EVENT_TYPES.map((e) => Type.Literal(e)), Type.Literal('*')]), { minItems: 1 }),
  secret: SecretSchema('The HMAC key deliveries are signed with (x-signature)'),
  format: Type.Union(NOTIFICATION_FORMATS.map((f) => Type.Literal(f)), {
    default: 'ascend',
    description: 'The body: ascend (the signed event envelope), slack (Block Kit), teams (Adaptive Card), servicenow (a Table API incident); docs/webhooks.md',
  }),
}, { additionalProperties: false });

/** Top-level `webhook_delivery` (the contract's `webhooks` key is the subscription list). */
export const WebhookDeliverySchema = Type.Object({
  max_attempts: Type.Integer({ minimum: 1, default: 8 }),
  initial_backoff_ms: Type.Integer({ minimum: 1, default: 1000 }),
  max_backoff_ms: Type.Integer({ minimum: 1, default: 300_000 }),
  timeout_ms: Type.Integer({
    minimum: 1, maximum: 25_000, default: 10_000,
    description: 'One delivery attempt at most; below the 30 s lease on an outbox row, after which another deliverer (or replica) may take it over',
  }),
}, { additionalProperties: false });

export type StoreConfig = Static<typeof StoreConfigSchema>;
export type ApprovalsConfig = Static<typeof ApprovalsConfigSchema>;
export type WebhookDeliveryConfig = Static<typeof WebhookDeliverySchema>;

/** What ApprovalService needs, with every default applied. */
export interface ApprovalSettings {
  readonly grant: 'single_use' | 'ttl';
  readonly ttl_seconds: number;
  readonly denial_ttl_seconds: number;
  readonly default_timeout_hours: number;
  readonly max_pending_per_agent: number;
  readonly max_pending_total: number;
  readonly separation_of_duties: boolean;
}

/** The settings with the schema's defaults filled in (`approvals:` may be absent altogether). */
export function approvalSettings(c: Partial<ApprovalsConfig> = {}): ApprovalSettings {
  const full = Value.Default(ApprovalsConfigSchema, { ...c }) as ApprovalsConfig;
  return {
    grant: full.grant,
    // The one default that depends on another field, so the schema can only describe it.
    ttl_seconds: full.ttl_seconds ?? (full.grant === 'ttl' ? 600 : 86_400),
    denial_ttl_seconds: full.denial_ttl_seconds,
    default_timeout_hours: full.default_timeout_hours,
    max_pending_per_agent: full.max_pending_per_agent,
    max_pending_total: full.max_pending_total,
    separation_of_duties: full.separation_of_duties,
  };
}

/** The approval part of a policy: plain approver groups, or a workflow (by name or inline). */
export interface PolicyApproval {
  readonly approvers?: readonly string[];
  readonly workflow?: string | WorkflowDefinition;
}

/**
 * The workflow a `require_approval` policy asks for. Throws naming the problem; config validation
 * should call this for every such policy at load so the hot path never does.
 */
export function resolveWorkflow(
  policy: PolicyApproval, workflows: Readonly<Record<string, WorkflowDefinition>>, defaultTimeoutHours: number,
): WorkflowDefinition {
  let wf: WorkflowDefinition;
  if (typeof policy.workflow === 'string') {
    // Own keys only: a workflow named "toString" must not find Object.prototype.toString.
    const named = Object.hasOwn(workflows, policy.workflow) ? workflows[policy.workflow] : undefined;
    if (!named) throw new Error(`workflow: no workflow named "${policy.workflow}"`);
    wf = { ...named, name: policy.workflow };
  } else if (policy.workflow) {
    wf = policy.workflow;
  } else if (policy.approvers?.length) {
    wf = singleStepWorkflow(policy.approvers, defaultTimeoutHours);
  } else {
    throw new Error('approvers: a require_approval policy needs approvers or a workflow');
  }
  const errors = validateWorkflow(wf);
  if (errors.length) throw new Error(`workflow: ${errors.join('; ')}`);
  return wf;
}
