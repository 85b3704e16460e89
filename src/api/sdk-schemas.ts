/**
 * Request and answer schemas of the routes the ASCEND SDK calls (docs/sdk.md): the field names
 * are the SDK's, so an unchanged SDK is validated and documented (GET /api/docs) as it speaks.
 */
import { Type as T, type Static } from '@sinclair/typebox';
import { AGENT_ID_PATTERN } from '../core/action.js';
import { DecisionKindSchema } from './schemas.js';

const Obj = T.Record(T.String(), T.Unknown());
const Text = (max: number) => T.String({ minLength: 1, maxLength: max });

/** The SDK's AgentAction (POST /api/v1/actions/submit). Client risk fields are ignored. */
export const SubmitBody = T.Object({
  agent_id: T.Optional(T.String({ pattern: AGENT_ID_PATTERN, description: 'the SDK sends "unknown" when it has none: agent keys then act as their own agent' })),
  agent_name: T.Optional(T.String({ maxLength: 256 })),
  action_type: Text(256),
  resource: Text(4096),
  resource_id: T.Optional(T.String({ maxLength: 1024 })),
  action_details: T.Optional(T.Object({}, { additionalProperties: true, description: "the action's parameters" })),
  context: T.Optional(T.Object({}, { additionalProperties: true })),
  risk_indicators: T.Optional(Obj),
  orchestration_session_id: T.Optional(T.String({ maxLength: 256 })),
  parent_action_id: T.Optional(T.Union([T.String({ maxLength: 256 }), T.Integer()])),
  orchestration_depth: T.Optional(T.Integer({ description: '0–5; outside is 422' })),
  mcp_server_name: T.Optional(T.String({ maxLength: 256 })),
  model_id: T.Optional(T.String({ maxLength: 256 })),
});
export type SubmitBody = Static<typeof SubmitBody>;

/** The SDK's AuthorizationDecision. */
export const SdkDecisionView = T.Object({
  action_id: T.String(),
  decision: DecisionKindSchema,
  initial_decision: DecisionKindSchema,
  execution_allowed: T.Boolean(),
  risk_score: T.Union([T.Number(), T.Null()]),
  risk_level: T.Union([T.String({ enum: ['low', 'medium', 'high', 'critical'] }), T.Null()]),
  reason: T.Union([T.String(), T.Null()]),
  policy_violations: T.Array(T.String(), { description: 'the policies that denied or hold the action' }),
  conditions: T.Array(T.String()),
  approval_request_id: T.Union([T.String(), T.Null()]),
  required_approvers: T.Array(T.String(), { description: 'groups that still have to vote' }),
  expires_at: T.Union([T.String(), T.Null()]),
  approved_by: T.Optional(T.Union([T.String(), T.Null()])),
  approved_at: T.Optional(T.Union([T.String(), T.Null()])),
  comments: T.Optional(T.Union([T.String(), T.Null()])),
  metadata: Obj,
}, { additionalProperties: true });

export const StatusQuery = T.Object({
  wait: T.Optional(T.Integer({ minimum: 0, maximum: 30, description: 'long-poll: seconds to wait for a pending action to change' })),
});

export const ActivityQuery = T.Object({
  limit: T.Optional(T.Integer({ minimum: 1, description: 'default 50, at most api.page_max' })),
  offset: T.Optional(T.Integer({ minimum: 0, default: 0 })),
  agent_id: T.Optional(T.String({ minLength: 1 })),
  status: T.Optional(T.String({ enum: ['pending', 'approved', 'denied', 'completed', 'expired'] })),
});

export const FailBody = T.Object({
  action_id: T.Optional(T.Union([T.String(), T.Integer()])),
  status: T.Optional(T.String({ maxLength: 64 })),
  failed_at: T.Optional(T.String()),
  error: T.Optional(T.Union([T.String({ maxLength: 8192 }), Obj])),
  duration_ms: T.Optional(T.Number({ minimum: 0 })),
});

/** The SDK's evaluate_mcp_action body. */
export const McpSubmitBody = T.Object({
  mcp_server: Text(256),
  namespace: Text(256),
  verb: Text(256),
  resource: Text(4096),
  action_type: T.Optional(T.Union([Text(256), T.Null()])),
  description: T.Optional(T.Union([T.String({ maxLength: 4096 }), T.Null()])),
  parameters: T.Optional(T.Object({}, { additionalProperties: true })),
  context: T.Optional(T.Object({}, { additionalProperties: true })),
  environment: T.Optional(T.Union([T.String({ maxLength: 64 }), T.Null()])),
  tool_name: T.Optional(T.Union([T.String({ maxLength: 256 }), T.Null()])),
});
export type McpSubmitBody = Static<typeof McpSubmitBody>;

export const McpDecisionView = T.Object({
  action_id: T.String(),
  status: DecisionKindSchema,
  success: T.Boolean({ description: 'false when denied' }),
  requires_approval: T.Boolean(),
  risk_score: T.Number(),
  reason: T.String(),
}, { additionalProperties: true });

export const EvaluateBody = T.Object({
  agent_id: T.Optional(T.String({ pattern: AGENT_ID_PATTERN })),
  action_type: Text(256),
  resource: Text(4096),
  risk_score: T.Optional(T.Number({ description: 'ignored: risk is scored by the sidecar' })),
  context: T.Optional(T.Object({}, { additionalProperties: true })),
  parameters: T.Optional(T.Object({}, { additionalProperties: true })),
});

/** The SDK's ActionDetails: `status` in its vocabulary; completion in `completion`. */
export const ActionDetailsView = T.Object({
  id: T.String(),
  action_id: T.String(),
  agent_id: T.Union([T.String(), T.Null()]),
  agent_name: T.Union([T.String(), T.Null()]),
  action_type: T.String(),
  resource: T.String(),
  resource_id: T.Union([T.String(), T.Null()]),
  decision: DecisionKindSchema,
  status: T.String({ enum: ['pending', 'approved', 'denied', 'requires_modification', 'timeout', 'auto_approved', 'escalated'] }),
  risk_score: T.Union([T.Number(), T.Null()]),
  created_at: T.String(),
  updated_at: T.String(),
  completion: T.Union([T.Object({}, { additionalProperties: true }), T.Null()]),
  audit_trail: T.Array(T.Object({ timestamp: T.Union([T.String(), T.Null()]), event: T.String() }, { additionalProperties: true })),
}, { additionalProperties: true });
