/**
 * TypeBox schemas of the REST API: fastify validates requests with them and @fastify/swagger
 * publishes them at /api/docs, so the document cannot drift from what is enforced.
 * Request bodies accept extra fields (SDKs send more than we read); responses document the
 * fields we promise and allow more.
 */
import { Type as T, type Static, type TSchema } from '@sinclair/typebox';
import { SUBSCRIBABLE_EVENTS } from '../events/sdk-events.js';
import { AUDIT_EVENT_TYPES } from '../approvals/store/records.js';
import { EVENT_TYPES, NOTIFICATION_FORMATS } from '../events/types.js';
import { StringEnum } from '../config/schema.js';
import { AGENT_ID_PATTERN } from '../core/action.js';

const Nullable = <S extends TSchema>(s: S) => T.Union([s, T.Null()]);
const open = { additionalProperties: true } as const;
const Id = T.String({ minLength: 1, maxLength: 128 });
const Time = T.String({ description: 'ISO 8601' });
export const DecisionKindSchema = StringEnum(['allowed', 'denied', 'pending'] as const);

export const ActionBody = T.Object({
  agent_id: T.Optional(T.String({ pattern: AGENT_ID_PATTERN, description: 'Required for admin keys; agent keys default to (and may only use) their own' })),
  action_type: T.String({ minLength: 1, maxLength: 256 }),
  resource: T.String({ minLength: 1, maxLength: 4096 }),
  parameters: T.Optional(T.Record(T.String(), T.Unknown(), { default: {} })),
  context: T.Optional(T.Record(T.String(), T.Unknown(), { default: {}, description: 'context.gateway is set by the sidecar' })),
});
export type ActionBody = Static<typeof ActionBody>;

export const BatchBody = T.Object({ actions: T.Array(ActionBody, { minItems: 1, description: 'At most api.batch_max (default 100)' }) });

export const DecisionView = T.Object({
  action_id: T.String(),
  decision: DecisionKindSchema,
  risk_score: T.Number(),
  reason: T.String(),
  policy_id: Nullable(T.String()),
  code: T.String(),
  approval_id: T.Optional(T.String()),
  status_url: T.Optional(T.String()),
  retry_after: T.Optional(T.Integer({ description: 'seconds, for pending and for too_many_pending' })),
}, open);

export const BatchView = T.Object({ results: T.Array(DecisionView) });

export const ActionIdParams = T.Object({ action_id: Id });
export const ApprovalIdParams = T.Object({ approval_id: Id });
export const DeadLetterParams = T.Object({ id: T.Integer({ minimum: 1 }) });

export const CompleteBody = T.Object({
  status: T.String({ minLength: 1, maxLength: 64, description: 'The outcome, e.g. success or failure' }),
  result: T.Optional(T.Unknown()),
});

export const VoteBody = T.Object({ comment: T.Optional(T.String({ maxLength: 4000 })) });

const Limit = T.Optional(T.Integer({ minimum: 1, description: 'default 50, at most api.page_max' }));
const Cursor = T.Optional(T.String({ minLength: 1, description: 'next_cursor of the previous page' }));

export const ApprovalsQuery = T.Object({
  status: T.Optional(StringEnum(['pending', 'approved', 'denied'] as const)),
  limit: Limit,
  cursor: Cursor,
});

export const AuditQuery = T.Object({
  action_id: T.Optional(T.String({ minLength: 1 })),
  agent_id: T.Optional(T.String({ minLength: 1 })),
  decision: T.Optional(DecisionKindSchema),
  since: T.Optional(T.String({ minLength: 1, description: 'inclusive; ISO 8601 or ms since the epoch' })),
  until: T.Optional(T.String({ minLength: 1, description: 'exclusive; ISO 8601 or ms since the epoch' })),
  limit: Limit,
  cursor: Cursor,
});

export const PageQuery = T.Object({ limit: Limit, cursor: Cursor });

export const Vote = T.Object({
  approver: T.String(), vote: StringEnum(['approve', 'deny'] as const), comment: Nullable(T.String()),
  step: T.Integer(), escalated: T.Boolean(), at: Time,
});

/** What a decision, and so an approval's grant, is bound to (README "Approvals": grants). */
export const BindingView = T.Object({
  policy_digest: Nullable(T.String({ description: 'digest of the deciding policy: conditions, action, approvers, workflow' })),
  workflow: Nullable(T.String()),
  values: T.Record(T.String(), T.Unknown(), { description: 'every context.*, request.* value the policies read, and risk.score' }),
});

export const ApprovalView = T.Object({
  approval_id: T.String(), action_id: T.String(), agent_id: Nullable(T.String()), action_type: T.String(), resource: T.String(),
  parameters: T.Record(T.String(), T.Unknown()), binding: BindingView,
  status: StringEnum(['pending', 'approved', 'denied'] as const), reason: Nullable(T.String()), workflow: Nullable(T.String()),
  step: T.Integer(), steps: T.Integer(), escalated: T.Boolean(), approvers: T.Array(T.String()), required: T.Integer(),
  requested_at: Time, deadline_at: Nullable(Time), decided_at: Nullable(Time),
  grant: Nullable(T.String()), grant_expires_at: Nullable(Time), votes: T.Array(Vote), status_url: T.String(),
}, open);

/** GET /api/sdk/approval/{id}: the approval view with the SDK's words. */
export const SdkApprovalView = T.Composite([
  T.Omit(ApprovalView, ['status']),
  T.Object({
    status: StringEnum(['pending', 'approved', 'rejected'] as const),
    state: StringEnum(['pending', 'approved', 'denied'] as const),
    approved_by: Nullable(T.String()),
    rejected_by: Nullable(T.String()),
    rejection_reason: Nullable(T.String()),
  }),
], open);

export const ActionView = T.Object({
  action_id: T.String(), agent_id: Nullable(T.String()), action_type: T.String(), resource: T.String(),
  binding: T.Optional(BindingView),
  decision: DecisionKindSchema, status: StringEnum(['pending', 'approved', 'denied', 'completed', 'expired'] as const),
  policy_id: Nullable(T.String()), risk_score: Nullable(T.Number()), reason: Nullable(T.String()),
  approval_id: Nullable(T.String()), created_at: Time, updated_at: Time,
  completion: Nullable(T.Object({ status: T.String(), result: T.Unknown(), completed_at: Nullable(Time) })),
  approval: T.Optional(ApprovalView),
}, open);

export const AuditRow = T.Object({
  id: T.Integer(), time: Time, action_id: T.String(), request_id: Nullable(T.String()), adapter: T.String(),
  agent_id: Nullable(T.String()), action_type: T.String(), resource: T.String(), decision: DecisionKindSchema,
  policy_id: Nullable(T.String()), risk_score: Nullable(T.Number()), cache_hit: T.Boolean(), latency_us: T.Integer(),
  reason: Nullable(T.String()),
  event_type: StringEnum(AUDIT_EVENT_TYPES, { description: 'decision, or an event recorded beside them (GET /api/audit lists decisions)' }),
  actor: Nullable(T.String({ description: 'who caused an event (an API key name); null for decisions' })),
  details: Nullable(T.Record(T.String(), T.Unknown())),
}, open);

export const DeadLetter = T.Object({
  id: T.Integer(), event_id: T.String(), event: StringEnum(EVENT_TYPES),
  url: T.String({ description: 'scheme://host/… : a webhook URL is often a secret, so it is never shown whole' }),
  subscription_index: Nullable(T.Integer({ description: 'Its subscription in the current config (webhooks[i]); null once removed' })),
  attempts: T.Integer(), last_error: Nullable(T.String()), created_at: Time,
}, open);

const WebhookUrl = T.String({
  minLength: 1, maxLength: 2048,
  description: 'https://, not resolving to a loopback, private, link-local, CGNAT or metadata address (unless api.allow_private_webhook_targets)',
});
const WebhookEvents = T.Array(T.String({ minLength: 1, maxLength: 64 }), {
  minItems: 1, maxItems: 32, description: `Any of ${SUBSCRIBABLE_EVENTS.join(', ')}; the SDK's names are mapped (docs/webhooks.md)`,
});
const WebhookSecret = (description: string) => T.String({ minLength: 1, maxLength: 512, description });

const WebhookFormat = (description: string) => StringEnum(NOTIFICATION_FORMATS, {
  description: `${description}: ascend (the signed event envelope), slack (Block Kit), teams (Adaptive Card), servicenow (a Table API incident); docs/webhooks.md`,
});

export const WebhookBody = T.Object({
  url: WebhookUrl,
  events: WebhookEvents,
  secret: T.Optional(WebhookSecret('HMAC key of the deliveries; generated (and answered once) when absent')),
  agent_id: T.Optional(Nullable(T.String({ pattern: AGENT_ID_PATTERN, description: "Only this agent's events (and events about no agent)" }))),
  format: T.Optional(WebhookFormat('The body of the deliveries; ascend when absent')),
});

export const WebhookChangeBody = T.Object({
  url: T.Optional(WebhookUrl), events: T.Optional(WebhookEvents), secret: T.Optional(WebhookSecret('A new HMAC key (not answered)')),
  format: T.Optional(WebhookFormat('A new body for the deliveries enqueued from now on')),
});

export const WebhookParams = T.Object({ webhook_id: Id });

export const WebhookView = T.Object({
  webhook_id: T.String({ description: 'wh_… (made through the API) or cfg_… (from the config file, read-only)' }),
  id: T.String({ description: 'the same as webhook_id' }),
  url: T.String(), events: T.Array(T.String()), active: T.Boolean(), agent_id: Nullable(T.String()),
  secret: Nullable(T.String({ description: 'only in the answer that created it; null afterwards' })),
  source: StringEnum(['api', 'config'] as const), format: StringEnum(NOTIFICATION_FORMATS),
  created_at: Nullable(Time), updated_at: Nullable(Time),
}, open);

export const WebhookList = T.Object({ webhooks: T.Array(WebhookView) });

export const WebhookDeleted = T.Object({ deleted: T.Literal(true), webhook_id: T.String() });

export const WebhookTestView = T.Object({
  success: T.Boolean({ description: 'the receiver answered 2xx' }),
  status_code: Nullable(T.Integer({ description: "the receiver's status; null when it did not answer" })),
  response_time_ms: T.Integer({ description: 'until the response headers, or the failure' }),
  error: Nullable(T.String()),
  event_id: T.String(),
});

export const Page = <S extends TSchema>(item: S) => T.Object({ items: T.Array(item), next_cursor: T.Optional(T.String()) });

export const ErrorView = T.Object({
  error: T.Object({ code: T.String(), message: T.String(), field: T.Optional(T.String()) }),
  detail: T.String({ description: 'the message again, where the ASCEND SDK reads it' }),
  errors: T.Optional(T.Record(T.String(), T.String(), { description: '400/422: field → message' })),
  policy_violations: T.Optional(T.Array(T.String(), { description: '403: the policies involved (the SDK reads this)' })),
});
