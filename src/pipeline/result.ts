import type { ApprovalRecord } from '../approvals/store/records.js';
import type { ActionRequest } from '../core/action.js';
import type { ApprovalReview, Decision } from '../core/decision.js';
import type { AdapterName, GatewayRequest } from '../gateway/request.js';
import type { JsonRpcId } from '../mapping/mcp.js';
import type { AbMembership } from '../policy/ab.js';

/** The client spoke MCP: a denial or pending answer is a JSON-RPC error to these ids (adapters/render.ts). */
export interface McpAnswer {
  readonly ids: readonly JsonRpcId[];
  readonly batch: boolean;
}

/** Everything an adapter needs to answer, and everything the decision log records. */
export interface CheckResult {
  readonly adapter: AdapterName;
  readonly decision: Decision;
  /** Unique per check; the id under which the action can be queried and completed. */
  readonly actionId: string;
  /**
   * True when this check drew the action id itself (shared/uuid.ts: hex digits and dashes), so
   * JSON leaves it as it is at any depth and an answer may join it in untested
   * (adapters/answer-json.ts). A copy with another actionId must not carry it over.
   */
  readonly actionIdPlain?: boolean | undefined;
  /** Set for pending decisions, and for decisions an approval answered (granted or denied). */
  readonly approvalId: string | undefined;
  /** Where the approval's status can be read (`x-ascend-status-url`); set with approvalId. */
  readonly statusUrl?: string | undefined;
  /** The approval that answered, as it stood (deadline, grant, votes); undefined: none here. */
  readonly approval?: ApprovalRecord | undefined;
  /** Evaluating remotely: what the control plane said of the approval that answered (it lives there). */
  readonly review?: ApprovalReview | undefined;
  /** Seconds the client should wait before retrying a pending action (`retry-after`). */
  readonly retryAfterSeconds: number | undefined;
  /** Undefined when the request could not be normalized. */
  readonly action: ActionRequest | undefined;
  readonly request: GatewayRequest | undefined;
  readonly route: string | undefined;
  readonly cacheHit: boolean;
  readonly latencyUs: number;
  /** The A/B tests the request is in, with its variant (policy/ab.ts). */
  readonly ab?: readonly AbMembership[] | undefined;
  /** Set on an `mcp` route: the answer for the whole JSON-RPC message. */
  readonly mcp?: McpAnswer | undefined;
}
