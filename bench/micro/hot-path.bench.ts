/**
 * Micro-benchmarks of the per-check stages (vitest bench): normalization, route mapping with
 * 20 / 1,000 routes, the policy engine with 10 / 1,000 / 10,000 policies, fingerprint +
 * cache hit, and one decision-log line (with and without the query redaction). Run:
 * npx vitest bench --run bench/micro
 *
 * The engine target (issue 5): evaluating with 10,000 policies costs at most 2× evaluating
 * with 10 — the policy index, not a scan. The generated configs put the contract's routes
 * last and its policies below 10,000 higher-priority generated ones (bench/lib/gen-config.mjs).
 */
import { bench, describe } from 'vitest';
import { stringify } from 'yaml';
import { generateConfig } from '../lib/gen-config.mjs';
import { runtimeFromText, type Runtime } from '../../src/config/runtime.js';
import { DecisionCache } from '../../src/evaluator/cache.js';
import { normalize } from '../../src/gateway/normalize.js';
import type { RawGatewayRequest } from '../../src/gateway/request.js';
import { DecisionLog } from '../../src/observability/decision-log.js';
import { FdDestination } from '../../src/observability/fd-destination.js';
import { DEFAULT_REDACTION, type Redaction } from '../../src/observability/redact.js';
import type { CheckResult } from '../../src/pipeline/result.js';

const REFUND: RawGatewayRequest = {
  adapter: 'envoy',
  method: 'POST',
  target: '/v1/refunds/r-1?amount=50',
  host: 'payments.internal',
  headers: { ':authority': 'payments.internal', ':method': 'POST', ':path': '/v1/refunds/r-1?amount=50', 'content-type': 'application/json', 'x-agent-id': 'billing-agent', 'x-request-id': 'b1c2d3e4-0000-4000-8000-000000000001' },
};
const TRICKY: RawGatewayRequest = { ...REFUND, method: 'GET', target: '//v1/orders/%2e%2e/../admin;x=1/%75sers?y=1' };

function runtime(policies: number, routes: number): Runtime {
  return runtimeFromText(stringify(generateConfig({ policies, routes, cache: 'on' })), `gen-p${policies}-r${routes}`, 1);
}

describe('normalize', () => {
  bench('canonical request (fast path)', () => {
    normalize(REFUND);
  });
  bench('traversal + escapes + params (slow path)', () => {
    normalize(TRICKY);
  });
});

describe('map (identity + route + templates)', () => {
  const req = normalize(REFUND);
  for (const routes of [20, 1000]) {
    const rt = runtime(10, routes);
    bench(`${routes} routes`, () => {
      rt.mapper.map(req);
    });
  }
});

describe('engine.evaluate (risk + policies)', () => {
  const req = normalize(REFUND);
  for (const policies of [10, 1000, 10_000]) {
    const rt = runtime(policies, 20);
    const input = rt.mapper.map(req).input;
    bench(`${policies} policies`, () => {
      rt.engine.evaluate(input);
    });
  }
});

describe('fingerprint + cache hit', () => {
  const rt = runtime(10, 20);
  const input = rt.mapper.map(normalize(REFUND)).input;
  const cache = new DecisionCache({ enabled: true, ttlMs: 60_000, maxEntries: 100_000 });
  cache.set(rt.fingerprint(input), rt.engine.evaluate(input));
  bench('fingerprint', () => {
    rt.fingerprint(input);
  });
  bench('fingerprint + get', () => {
    if (cache.get(rt.fingerprint(input)) === undefined) throw new Error('expected a hit');
  });
});

describe('decision-log line (raw target with a query, batched into a chunk)', () => {
  const rt = runtime(10, 20);
  const result = (target: string): CheckResult => {
    const request = normalize({ ...REFUND, target });
    const { input, route } = rt.mapper.map(request);
    return {
      adapter: 'envoy', decision: rt.engine.evaluate(input), actionId: 'a079c064-5a1e-4d7e-9f57-3c1c7b0f2b11', approvalId: undefined,
      retryAfterSeconds: undefined, action: input.action, request, route, cacheHit: true, latencyUs: 21,
    };
  };
  const plain = result('/v1/refunds/r-1?amount=50&currency=eur');
  const secret = result('/v1/refunds/r-1?amount=50&access_token=abc');
  // The same chunked writer as the server, into /dev/null: only building the line is measured.
  const log = (redaction: Redaction) => new DecisionLog(new FdDestination('/dev/null'), { enabled: true, includeHeaders: false, batch: true, redaction: () => redaction });
  const unredacted = log({ target: (t: string) => t, requestTarget: (t: string) => t } as unknown as Redaction);
  const redacted = log(DEFAULT_REDACTION);
  bench('no listed key, without redaction (before)', () => {
    unredacted.record(plain);
  });
  bench('no listed key, with redaction', () => {
    redacted.record(plain);
  });
  bench('access_token masked', () => {
    redacted.record(secret);
  });
});
