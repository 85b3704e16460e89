/**
 * An A/B test's member is scored for risk once per check: membership scores it (its policies
 * may read risk.score) and the decision uses that score rather than computing it again.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runtimeFromText } from '../config/runtime.js';
import { Metrics } from '../observability/metrics.js';
import { RiskModel } from '../policy/risk.js';
import { CheckPipeline } from './check.js';
import type { CheckResult } from './result.js';
import { RuntimeState } from './state.js';

const CONFIG = `
cache: {enabled: false}
policies:
  - {id: pol_hold, priority: 50, conditions: {action_type: orders.read, risk.score: {gte: 10}}, action: require_approval, approvers: [ops]}
  - {id: pol_allow, priority: 50, conditions: {action_type: orders.read, risk.score: {gte: 10}}, action: allow}
  - {id: pol_pay_deny, priority: 50, conditions: {action_type: payments.payout}, action: deny}
  - {id: pol_pay_allow, priority: 50, conditions: {action_type: payments.payout}, action: allow}
  - {id: pol_default, priority: 10, conditions: {action_type: orders.read}, action: deny}
ab_tests:
  - {name: risky, control_policy: pol_hold, test_policy: pol_allow, traffic_split: 100, duration_days: 7}
  - {name: payouts, control_policy: pol_pay_deny, test_policy: pol_pay_allow, traffic_split: 50, duration_days: 7, shadow: true}
`;

function check(actionType: string): CheckResult {
  const state = new RuntimeState(runtimeFromText(CONFIG, 'ab.yaml', 1));
  const p = new CheckPipeline({ state, metrics: new Metrics(new Registry(), () => 0, { defaultMetrics: false }), sinks: [], logger: pino({ level: 'silent' }) });
  const r = p.checkAction({ agent_id: 'a1', action_type: actionType, resource: 'r/1', parameters: {}, context: {} });
  if (r instanceof Promise) throw new Error('expected a synchronous check');
  return r;
}

afterEach(() => vi.restoreAllMocks());

describe('risk in an A/B test', () => {
  it('is scored once for a member, and the decision reads that score', () => {
    const score = vi.spyOn(RiskModel.prototype, 'score');
    const r = check('orders.read');
    expect(score).toHaveBeenCalledTimes(1);
    expect([r.decision.decision, r.decision.policyId, r.ab?.[0]?.variant]).toEqual(['allowed', 'pol_allow', 'test']);
    expect(r.decision.riskScore).toBe(score.mock.results[0]?.value);
  });

  it('is scored once for a shadow test too (the enforced and the shadow evaluations share it)', () => {
    const score = vi.spyOn(RiskModel.prototype, 'score');
    expect(check('payments.payout').decision.policyId).toBe('pol_pay_deny');
    expect(score).toHaveBeenCalledTimes(1);
  });
});
