import type { DecisionCode } from './errors.js';

/**
 * The neutral decision every adapter renders in its own protocol (docs/architecture.md, "Decision").
 */
export type DecisionKind = 'allowed' | 'denied' | 'pending';
export type PolicyAction = 'allow' | 'deny' | 'require_approval' | 'flag';

/** deny > require_approval > flag > allow: at equal priority the most restrictive policy wins. */
export const RESTRICTIVENESS: Readonly<Record<PolicyAction, number>> = Object.freeze({
  deny: 3,
  require_approval: 2,
  flag: 1,
  allow: 0,
});

/**
 * What a control plane said of the approval behind its answer (a pending one, or one an approval
 * decided), in the SDK's own fields: the approval lives there, so an edge has no record to fill
 * them from (api/sdk-views.ts does for a local approval). Only the fields it sent, as strings.
 */
export interface ApprovalReview {
  /** The approval's deadline while pending; once approved, the grant's expiry. ISO 8601. */
  readonly expires_at?: string;
  readonly approved_by?: string;
  readonly approved_at?: string;
  readonly rejected_by?: string;
  readonly decided_at?: string;
  readonly comments?: string;
}

export interface Decision {
  readonly decision: DecisionKind;
  /** Human-readable; returned to the client in denial bodies. */
  readonly reason: string;
  /** Stable snake_case code for machines and metric labels (policy_allow, default_deny, invalid_path…). */
  readonly code: DecisionCode;
  readonly policyId: string | null;
  readonly policyName: string | null;
  readonly riskScore: number;
  /** A `flag` policy matched: allowed, but marked for review. */
  readonly flagged: boolean;
  /** Approver groups for a pending decision. */
  readonly approvers: readonly string[] | undefined;
  readonly workflow: string | undefined;
  /** What an enforcing policy would have done, when monitor mode changed the outcome. */
  readonly monitor: { readonly policyId: string | null; readonly wouldBe: DecisionKind } | undefined;
  /**
   * The monitor-mode policy that ranked above the deciding one and would have denied or held
   * this request had it been enforced — also when the deciding policy denied or held it anyway
   * (so `monitor` is unset) and under top-level monitor mode (where `monitor` names the deciding
   * policy). What the console counts as a policy's would-denies.
   */
  readonly monitorMatch?: string | undefined;
  /** Allowed only because evaluation failed under `fail_mode: open`. */
  readonly failOpen: boolean;
  /** The HTTP status a gateway answers a denied or pending request with (200 when allowed). */
  readonly httpStatus: number;
  /**
   * A control plane's answer served after it expired, because the control plane could not
   * answer (evaluator.stale_if_error_ms); marked `x-ascend-stale: true`.
   */
  readonly stale?: boolean;
}

/** Only plain enforce decisions may be served from cache (never pending, monitor or fail-open). */
export function isCacheable(d: Decision): boolean {
  return d.decision !== 'pending' && d.monitor === undefined && !d.failOpen && d.stale !== true;
}
