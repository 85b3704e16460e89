import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../core/decision.js';
import type { CheckResult } from '../../pipeline/result.js';
import { encodeCheckResponse, writeCheckResponse } from './to-check-response.js';

const decision = (kind: Decision['decision']): Decision => ({
  decision: kind, reason: `because ${kind}`, code: 'policy_x', policyId: 'pol_1', policyName: 'P', riskScore: 42,
  flagged: false, approvers: undefined, workflow: undefined, monitor: undefined, failOpen: false, httpStatus: kind === 'allowed' ? 200 : 403,
});

function result(d: Decision, over: Partial<CheckResult> = {}): CheckResult {
  return {
    adapter: 'envoy', decision: d, actionId: randomUUID(), approvalId: undefined, retryAfterSeconds: undefined, route: 'r', cacheHit: true, latencyUs: 3,
    action: { agent_id: 'billing-agent', action_type: 'a', resource: 'r', parameters: {}, context: {} },
    request: undefined,
    ...over,
  };
}

describe('cache-hit response templates', () => {
  it.each(['allowed', 'denied'] as const)('give the same bytes as field-by-field encoding (%s)', (kind) => {
    const d = decision(kind);
    for (let i = 0; i < 5; i++) {
      const r = result(d);
      expect(encodeCheckResponse(r).equals(writeCheckResponse(r))).toBe(true);
    }
  });

  it('are not used for misses, pending answers or requests with client x-ascend-* headers', () => {
    const d = decision('allowed');
    const withHeaders = result(d, {
      request: { clientAscendHeaders: ['x-ascend-foo'], headers: {} } as unknown as CheckResult['request'],
    });
    expect(encodeCheckResponse(withHeaders).equals(writeCheckResponse(withHeaders))).toBe(true);
    expect(encodeCheckResponse(withHeaders).includes('x-ascend-foo')).toBe(true);
    const miss = result(d, { cacheHit: false });
    expect(encodeCheckResponse(miss).equals(writeCheckResponse(miss))).toBe(true);
  });
});
