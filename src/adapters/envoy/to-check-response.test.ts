import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../core/decision.js';
import type { CheckResult } from '../../pipeline/result.js';
import { encodeCheckResponse, writeCheckResponse } from './to-check-response.js';

const decision = (kind: Decision['decision']): Decision => ({
  decision: kind, reason: `because ${kind}`, code: 'policy_deny', policyId: 'pol_1', policyName: 'P', riskScore: 42,
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

describe('pre-built response templates', () => {
  it.each(['allowed', 'denied'] as const)('give the same bytes as field-by-field encoding (%s)', (kind) => {
    const d = decision(kind);
    for (let i = 0; i < 5; i++) {
      const r = result(d);
      expect(encodeCheckResponse(r).equals(writeCheckResponse(r))).toBe(true);
    }
  });

  it('are kept apart by agent and by cache hit', () => {
    const d = decision('allowed');
    for (const [agent, hit] of [['a', true], ['b', true], ['a', false], ['b', false]] as const) {
      const r = result(d, { cacheHit: hit, action: { agent_id: agent, action_type: 'x', resource: 'y', parameters: {}, context: {} } });
      expect(encodeCheckResponse(r).equals(writeCheckResponse(r))).toBe(true);
    }
  });

  it('are not used for pending answers or requests with client x-ascend-* headers', () => {
    const d = decision('allowed');
    const withHeaders = result(d, {
      request: { clientAscendHeaders: ['x-ascend-foo'], headers: {} } as unknown as CheckResult['request'],
    });
    expect(encodeCheckResponse(withHeaders).equals(writeCheckResponse(withHeaders))).toBe(true);
    expect(encodeCheckResponse(withHeaders).includes('x-ascend-foo')).toBe(true);
    const pending = result(decision('pending'), { approvalId: 'apr_1', retryAfterSeconds: 30, statusUrl: '/api/sdk/approval/apr_1' });
    expect(encodeCheckResponse(pending).equals(writeCheckResponse(pending))).toBe(true);
    expect(encodeCheckResponse(pending).includes('apr_1')).toBe(true);
  });
});
