import { describe, expect, it } from 'vitest';
import type { Decision } from '../core/decision.js';
import type { CheckResult } from '../pipeline/result.js';
import { decisionHeaderObject, decisionHeaders } from './render.js';
import { checkResultOf, decisionOf } from '../../test/helpers/decisions.js';

const decision = (over: Partial<Decision>): Decision =>
  decisionOf({ reason: 'allowed', policyId: 'pol_orders_read', policyName: 'x', riskScore: 12, ...over });
const result = (d: Decision, actionId: string, over: Partial<CheckResult> = {}): CheckResult => checkResultOf(d, actionId, { adapter: 'forward_auth', ...over });

describe('decisionHeaderObject', () => {
  it('is Object.fromEntries(decisionHeaders(r)): names, values and order, check after check', () => {
    const decisions = [
      decision({}), decision({ policyId: null, flagged: true, failOpen: true, stale: true, monitor: { policyId: 'p', wouldBe: 'denied' } }),
      decision({ decision: 'denied', httpStatus: 403, riskScore: 80 }),
    ];
    const extras: Array<Partial<CheckResult>> = [{}, { approvalId: 'apr_1', statusUrl: 'https://x/apr_1', retryAfterSeconds: 3 }];
    for (let round = 0; round < 3; round++) {
      for (const d of decisions) {
        for (const x of extras) {
          const r = result(d, `id-${round}-${Math.random()}`, x);
          const ours = decisionHeaderObject(r);
          const ref = Object.fromEntries(decisionHeaders(r));
          expect(Object.entries(ours)).toEqual(Object.entries(ref));
        }
      }
    }
  });
});
