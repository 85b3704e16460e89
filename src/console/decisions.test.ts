import { describe, expect, it } from 'vitest';
import type { Decision } from '../core/decision.js';
import type { CheckResult } from '../pipeline/result.js';
import { ConsoleDecisions } from './decisions.js';
import { checkResultOf, decisionOf } from '../../test/helpers/decisions.js';

const decision = decisionOf;
const result = (i: number, d: Decision = decision()): CheckResult => checkResultOf(d, `act-${i}`, {
  action: { agent_id: `agent-${i}`, action_type: 'orders.read', resource: 'orders', parameters: {}, context: {} } as CheckResult['action'],
  cacheHit: i % 2 === 0, latencyUs: 1,
});

describe('ConsoleDecisions', () => {
  it('keeps the last 200 decisions, oldest first, built into events only when read', () => {
    let now = Date.UTC(2026, 11, 7);
    const d = new ConsoleDecisions(() => now++);
    for (let i = 0; i < 250; i++) d.record(result(i));
    const latest = d.latest();
    expect(latest).toHaveLength(200);
    expect(latest[0]).toMatchObject({ action_id: 'act-50', agent_id: 'agent-50', decision: 'allowed', cache_hit: true });
    expect(latest[199]).toMatchObject({ action_id: 'act-249', cache_hit: false, time: new Date(Date.UTC(2026, 11, 7) + 250).toISOString() });
  });

  it('counts per policy, monitor would-denies included, and feeds live listeners', () => {
    const d = new ConsoleDecisions(() => 0);
    const seen: string[] = [];
    const stop = d.subscribe((e) => seen.push(`${e.action_id}:${e.decision}`));
    d.record(result(1));
    d.record(result(2, decision({ decision: 'denied', code: 'policy_deny' })));
    d.record(result(3, decision({ policyId: 'pol_b', monitor: { policyId: 'pol_m', wouldBe: 'denied' } })));
    stop();
    d.record(result(4));
    expect(seen).toEqual(['act-1:allowed', 'act-2:denied', 'act-3:allowed']);
    expect(d.policy('pol_a')).toEqual({ hits: 3, allowed: 2, denied: 1, pending: 0, monitor_would_deny: 0 });
    expect(d.policy('pol_m').monitor_would_deny).toBe(1);
    expect(d.latest()).toHaveLength(4);
  });

  it('writes each slot over with the newest decision, every field of it (past the second lap too)', () => {
    const t0 = Date.UTC(2026, 11, 7);
    let now = t0;
    const d = new ConsoleDecisions(() => now++);
    const deny = decision({ decision: 'denied', code: 'policy_deny', policyId: 'pol_d', reason: 'no' });
    const shaped = (i: number): CheckResult => (i % 7 === 3 ? checkResultOf(deny, `act-${i}`, { adapter: 'kong', cacheHit: false }) : result(i));
    // The clock's first reading is the sink's `since`; check i reads t0 + 1 + i.
    for (let i = 0; i < 450; i++) d.record(shaped(i));
    expect(d.latest()).toEqual(Array.from({ length: 200 }, (_, k) => {
      const i = 250 + k;
      const r = shaped(i);
      return {
        time: new Date(t0 + 1 + i).toISOString(), action_id: `act-${i}`, adapter: r.adapter, agent_id: r.action?.agent_id ?? null,
        action_type: r.action?.action_type ?? null, resource: r.action?.resource ?? null, decision: r.decision.decision, code: r.decision.code,
        policy_id: r.decision.policyId, risk_score: r.decision.riskScore, reason: r.decision.reason, monitor: null, cache_hit: r.cacheHit,
      };
    }));
  });
});
