/**
 * Per-key rate limits: a token bucket per API key name (`api.rate_limit`, or the key's own
 * `rate_limit`), checked right after authentication — before the body is read — so a flood costs
 * a hash, a map lookup and some arithmetic per request. Beyond the bucket: 429 `rate_limited`
 * with `Retry-After` in whole seconds, at most RETRY_AFTER_MAX: the SDK's urllib3 retries honour
 * Retry-After without a cap (3 times), so a large value would stall an agent for minutes.
 * Counted in `ascend_api_rate_limited_total{key}`; key names come from the config, so the label
 * set is bounded.
 */
import { Counter, type Registry } from 'prom-client';
import type { RateLimitConfig } from '../config/schema.js';
import type { Clock } from '../shared/runtime.js';
import { ApiError } from './errors.js';

export const RETRY_AFTER_MAX = 10;

interface Bucket {
  tokens: number;
  at: number;
}

export class KeyRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: Clock) {}

  /** Takes a token for `key`; undefined when allowed, else the seconds until one is free. */
  take(key: string, limit: RateLimitConfig): number | undefined {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    // A clock that steps back refills nothing; a config reload that shrinks the burst caps it.
    const elapsed = Math.max(0, now - b.at) / 1000;
    b.tokens = Math.min(limit.burst, b.tokens + elapsed * limit.requests_per_second);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return (1 - b.tokens) / limit.requests_per_second;
  }
}

export interface RateLimitCheck {
  /** The key's name and its limit (none: unlimited). */
  check(key: string, limit: RateLimitConfig | undefined): void;
}

/** Registers the counter and returns the check the auth hook calls; throws the 429. */
export function rateLimits(registry: Registry, now: Clock): RateLimitCheck {
  const limited = new Counter({
    name: 'ascend_api_rate_limited_total',
    help: 'REST API requests refused with 429 by the per-key rate limit, by API key name.',
    labelNames: ['key'] as const,
    registers: [registry],
  });
  const limiter = new KeyRateLimiter(now);
  return {
    check(key, limit) {
      if (!limit) return;
      const wait = limiter.take(key, limit);
      if (wait === undefined) return;
      limited.inc({ key });
      const seconds = Math.min(RETRY_AFTER_MAX, Math.max(1, Math.ceil(wait)));
      throw new ApiError(429, 'rate_limited', `API key "${key}" is over its rate limit (${limit.requests_per_second}/s, burst ${limit.burst}); retry after ${seconds} s`, undefined, seconds);
    },
  };
}
