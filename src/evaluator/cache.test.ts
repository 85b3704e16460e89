import { describe, expect, it } from 'vitest';
import type { Decision } from '../core/decision.js';
import { DecisionCache } from './cache.js';
import { decisionOf } from '../../test/helpers/decisions.js';

const decision = (over: Partial<Decision> = {}): Decision => decisionOf({ policyId: 'p', policyName: 'p', ...over });

describe('DecisionCache (SHA-256 keyed)', () => {
  it('serves a key its own decision and nothing for any other key, however alike', () => {
    const c = new DecisionCache({ enabled: true, ttlMs: 60_000, maxEntries: 100 });
    const allow = decision();
    const deny = decision({ decision: 'denied', code: 'policy_deny', httpStatus: 403 });
    const a = '1:["billing-agent","payments.refund","refund/r-1",{"amount":"50"}]';
    const b = '1:["billing-agent","payments.refund","refund/r-1",{"amount":"5000"}]';
    c.set(a, allow);
    expect(c.get(b)).toBeUndefined(); // the miss that precedes a set...
    c.set(b, deny); // ...and the set reuse the digest of the key just looked up
    expect([c.get(a), c.get(b), c.get(`${a} `), c.size]).toEqual([allow, deny, undefined, 2]);
  });

  it('never stores pending, monitor or fail-open decisions; is off when disabled or ttl_ms is 0', () => {
    const c = new DecisionCache({ enabled: true, ttlMs: 60_000, maxEntries: 100 });
    c.set('k1', decision({ decision: 'pending' }));
    c.set('k2', decision({ monitor: { policyId: 'p', wouldBe: 'denied' } }));
    c.set('k3', decision({ failOpen: true }));
    expect(c.size).toBe(0);
    for (const off of [new DecisionCache({ enabled: false, ttlMs: 60_000, maxEntries: 1 }), new DecisionCache({ enabled: true, ttlMs: 0, maxEntries: 1 })]) {
      off.set('k', decision());
      expect([off.enabled, off.get('k'), off.size]).toEqual([false, undefined, 0]);
    }
  });

  it('reads its TTL on the clock it is given', () => {
    let now = 5000;
    const c = new DecisionCache({ enabled: true, ttlMs: 100, maxEntries: 10, now: () => now });
    c.set('k', decision());
    now = 5099;
    expect(c.get('k')).toBeDefined();
    now = 5100;
    expect([c.get('k'), c.size]).toEqual([undefined, 0]);
  });
});
