/**
 * Exponential backoff with full jitter: a uniformly random wait in [0, min(cap, base·2^(n−1))).
 * Full jitter spreads the retries of many failed deliveries (a receiver that was down for a
 * minute) instead of letting them return in lockstep. See the AWS Architecture Blog,
 * "Exponential Backoff And Jitter" (2015).
 */
export interface BackoffOptions {
  /** Ceiling of the first retry's wait (ms). */
  readonly baseMs: number;
  /** Largest ceiling (ms). */
  readonly maxMs: number;
}

/** Wait before the retry that follows attempt number `attempt` (1 = the first attempt failed). */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
