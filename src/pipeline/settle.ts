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

/**
 * {@link settle} for an answer that goes to `to` (a reply): `send(to, r)`. On the synchronous
 * path (every cached allow) no closure is made per request; `onError` can be the route's own.
 */
export function settleTo<T>(r: CheckResult | Promise<CheckResult>, send: (to: T, r: CheckResult) => void, to: T, onError: () => CheckResult): void {
  if (r instanceof Promise) r.then((x) => send(to, x), () => send(to, onError()));
  else send(to, r);
}
