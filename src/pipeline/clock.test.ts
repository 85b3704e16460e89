/**
 * One clock for a check: the state's. The pipeline times its checks on it and the decision
 * cache, built by the state, reads its TTLs on it, so a test's clock drives both.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { runtimeFromText } from '../config/runtime.js';
import { Metrics } from '../observability/metrics.js';
import { CheckPipeline } from './check.js';
import type { CheckResult } from './result.js';
import { RuntimeState } from './state.js';

const CONFIG = `
cache: {enabled: true, ttl_ms: 1000, max_entries: 10}
policies:
  - {id: pol_read, priority: 10, conditions: {action_type: orders.read}, action: allow}
`;

describe('the state\'s clock', () => {
  it('times the checks and expires their cached decisions', () => {
    let now = 1_000_000;
    const state = new RuntimeState(runtimeFromText(CONFIG, 'clock.yaml', 1), () => now);
    const p = new CheckPipeline({ state, metrics: new Metrics(new Registry(), () => 0, { defaultMetrics: false }), sinks: [], logger: pino({ level: 'silent' }) });
    const check = (): CheckResult => {
      const r = p.checkAction({ agent_id: 'a1', action_type: 'orders.read', resource: 'orders/1', parameters: {}, context: {} });
      if (r instanceof Promise) throw new Error('expected a synchronous check');
      return r;
    };
    const first = check();
    expect([first.decision.decision, first.cacheHit, first.latencyUs]).toEqual(['allowed', false, 0]);
    now += 999;
    expect(check().cacheHit).toBe(true);
    now += 1; // the entry's ttl_ms on the state's clock, whatever the wall clock did
    expect(check().cacheHit).toBe(false);
    // A reload's new cache is on the same clock.
    state.swap(runtimeFromText(CONFIG, 'clock.yaml', 2));
    check();
    now += 1000;
    expect(check().cacheHit).toBe(false);
  });
});
