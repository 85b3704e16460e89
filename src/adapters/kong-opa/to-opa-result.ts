/**
 * CheckResult → the answer Kong Enterprise's opa plugin applies: HTTP 200
 * `{"result": {"allow", "status", "headers", "message"}}`. On allow Kong adds `headers` to the
 * upstream request; otherwise it exits with `status`, `{"message": message}` and `headers`.
 * Anything but HTTP 200 with this shape makes Kong answer 500, so refusals are results too.
 */
import type { CheckResult } from '../../pipeline/result.js';
import type { Problem } from '../http-adapter.js';
import { decisionHeaders, denialFields } from '../render.js';

export interface OpaResult {
  result: {
    allow: boolean;
    status: number;
    headers: Record<string, string>;
    message: string | Record<string, unknown>;
  };
}

export function toOpaResult(r: CheckResult): OpaResult {
  const d = r.decision;
  const allow = d.decision === 'allowed';
  return {
    result: {
      allow,
      status: allow ? 200 : d.httpStatus,
      headers: Object.fromEntries(decisionHeaders(r)),
      message: allow ? d.reason : denialFields(r),
    },
  };
}

/** A request refused before evaluation (malformed, too large, wrong type): a deny Kong applies. */
export function problemResult(p: Problem): OpaResult {
  return {
    result: {
      allow: false,
      status: p.status,
      headers: { 'x-ascend-decision': 'denied' },
      message: { decision: 'denied', code: p.code, reason: p.reason },
    },
  };
}
