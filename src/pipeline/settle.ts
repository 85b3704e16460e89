import type { CheckResult } from './result.js';

/**
 * Hands a check's result to `done`: at once when the check was synchronous (every path but a
 * pending decision with an approvals store), else when it settles. The pipeline answers its own
 * failures per fail_mode and never rejects; `onError` is the last guard, so a gateway always
 * gets a decision in its protocol, never a transport error.
 */
export function settle(r: CheckResult | Promise<CheckResult>, done: (r: CheckResult) => void, onError: () => CheckResult): void {
  if (r instanceof Promise) r.then(done, () => done(onError()));
  else done(r);
}
