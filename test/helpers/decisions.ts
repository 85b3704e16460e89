/** Decisions and check results for unit tests: every field set, `over` on top. */
import type { Decision } from '../../src/core/decision.js';
import type { CheckResult } from '../../src/pipeline/result.js';

export const decisionOf = (over: Partial<Decision> = {}): Decision => ({
  decision: 'allowed', reason: 'ok', code: 'policy_allow', policyId: 'pol_a', policyName: 'A', riskScore: 10, flagged: false,
  approvers: undefined, workflow: undefined, monitor: undefined, failOpen: false, httpStatus: 200, ...over,
} as Decision);

export const checkResultOf = (d: Decision, actionId: string, over: Partial<CheckResult> = {}): CheckResult => ({
  adapter: 'envoy', decision: d, actionId, approvalId: undefined, retryAfterSeconds: undefined, action: undefined, request: undefined, route: undefined,
  cacheHit: true, latencyUs: 10, ...over,
} as CheckResult);
