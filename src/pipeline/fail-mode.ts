/**
 * Decisions for checks that could not be evaluated. A malformed request is always denied
 * (HTTP 400, it names what is wrong); an internal failure follows `fail_mode`: `closed`
 * denies, `open` allows and marks the answer (`x-ascend-fail-open`). Neither is ever cached.
 */
import type { FaultCode, RequestError } from '../core/errors.js';
import type { Decision } from '../core/decision.js';

const base = {
  policyId: null,
  policyName: null,
  riskScore: 0,
  flagged: false,
  approvers: undefined,
  workflow: undefined,
  monitor: undefined,
} as const;

export function invalidRequestDecision(e: RequestError): Decision {
  return { ...base, decision: 'denied', code: e.code, reason: e.message, failOpen: false, httpStatus: e.httpStatus };
}

/** `code` names what failed (evaluation_error, deadline_exceeded, store_error…) for closed denials. */
export function failDecision(failMode: 'open' | 'closed', deniedStatus: number, code: FaultCode = 'evaluation_error'): Decision {
  return failMode === 'open'
    ? { ...base, decision: 'allowed', code: 'fail_open', reason: `authorization failed (${code}); allowed by fail_mode open`, failOpen: true, httpStatus: 200 }
    : { ...base, decision: 'denied', code, reason: `authorization failed (${code}); denied by fail_mode closed`, failOpen: false, httpStatus: deniedStatus };
}
