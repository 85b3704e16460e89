import { describe, expect, it, vi } from 'vitest';
import { IssueList } from '../config/errors.js';
import type { PolicyConfig, RiskConfig } from '../config/schema.js';
import { PolicyEngine } from './engine.js';
import { RiskModel } from './risk.js';
import { evalInput } from '../../test/helpers/eval-input.js';

const risk: RiskConfig = { base: 10, action_types: [], resources: [], environments: {}, agent_types: {}, unregistered_agent: 0, write_method: 0 };

function policy(p: Partial<PolicyConfig> & { id: string; action: PolicyConfig['action'] }): PolicyConfig {
  return { name: '', priority: 0, enabled: true, mode: 'enforce', conditions: {}, approvers: p.action === 'require_approval' ? ['ops'] : undefined, ...p };
}

function engine(policies: PolicyConfig[], opts: { defaultDecision?: 'allow' | 'deny'; mode?: 'enforce' | 'monitor' } = {}) {
  const issues = new IssueList();
  const e = PolicyEngine.compile(policies, new RiskModel(risk), { defaultDecision: opts.defaultDecision ?? 'deny', mode: opts.mode ?? 'enforce', deniedStatus: 403, pendingStatus: 409 }, issues);
  expect(issues.items).toEqual([]);
  return e;
}

describe('PolicyEngine', () => {
  it('the highest priority matching policy wins', () => {
    const e = engine([policy({ id: 'low', priority: 1, action: 'deny' }), policy({ id: 'high', priority: 9, action: 'allow' })]);
    expect(e.evaluate(evalInput()).policyId).toBe('high');
  });

  it.each([
    [['allow', 'flag'], 'flag'],
    [['flag', 'require_approval'], 'require_approval'],
    [['require_approval', 'deny', 'allow'], 'deny'],
  ] as const)('at equal priority the most restrictive of %j wins (%s)', (actions, want) => {
    const e = engine(actions.map((a, i) => policy({ id: `p${i}-${a}`, priority: 5, action: a })));
    expect(e.evaluate(evalInput()).policyId).toMatch(new RegExp(`-${want}$`));
  });

  it('maps actions to decisions and statuses', () => {
    const d = (action: PolicyConfig['action']) => engine([policy({ id: 'p', action })]).evaluate(evalInput());
    expect(d('allow')).toMatchObject({ decision: 'allowed', flagged: false, httpStatus: 200, code: 'policy_allow' });
    expect(d('flag')).toMatchObject({ decision: 'allowed', flagged: true });
    expect(d('deny')).toMatchObject({ decision: 'denied', httpStatus: 403, code: 'policy_deny' });
    expect(d('require_approval')).toMatchObject({ decision: 'pending', httpStatus: 409, approvers: ['ops'] });
  });

  it('applies default_decision when nothing matches', () => {
    const p = [policy({ id: 'other', action: 'allow', conditions: { action_type: 'x' } })];
    expect(engine(p).evaluate(evalInput())).toMatchObject({ decision: 'denied', policyId: null, code: 'default_deny' });
    expect(engine(p, { defaultDecision: 'allow' }).evaluate(evalInput())).toMatchObject({ decision: 'allowed', code: 'default_allow' });
  });

  it('skips disabled policies', () => {
    const e = engine([policy({ id: 'off', priority: 9, action: 'deny', enabled: false }), policy({ id: 'on', action: 'allow' })]);
    expect(e.evaluate(evalInput()).policyId).toBe('on');
  });

  it('a monitor policy records what it would do and never decides', () => {
    const e = engine([policy({ id: 'watch', priority: 9, action: 'deny', mode: 'monitor' }), policy({ id: 'ok', action: 'allow' })]);
    expect(e.evaluate(evalInput())).toMatchObject({ decision: 'allowed', policyId: 'ok', monitor: { policyId: 'watch', wouldBe: 'denied' } });
    // A monitor policy must not weaken enforcement either.
    const e2 = engine([policy({ id: 'watch', priority: 9, action: 'allow', mode: 'monitor' }), policy({ id: 'no', action: 'deny' })]);
    expect(e2.evaluate(evalInput())).toMatchObject({ decision: 'denied', policyId: 'no' });
  });

  it('global monitor mode allows and flags what enforcement would deny', () => {
    const e = engine([policy({ id: 'no', action: 'deny' })], { mode: 'monitor' });
    expect(e.evaluate(evalInput())).toMatchObject({ decision: 'allowed', flagged: true, code: 'monitor_allow', monitor: { policyId: 'no', wouldBe: 'denied' } });
  });

  it('indexes by action_type: exact, list, glob and unconstrained policies all apply', () => {
    const e = engine([
      policy({ id: 'exact', priority: 1, action: 'allow', conditions: { action_type: 'payments.refund' } }),
      policy({ id: 'list', priority: 2, action: 'allow', conditions: { action_type: ['orders.read', 'payments.refund'] } }),
      policy({ id: 'glob', priority: 3, action: 'allow', conditions: { action_type: 'payments.*' } }),
      policy({ id: 'any', priority: 4, action: 'allow', conditions: { agent_id: 'someone-else' } }),
    ]);
    expect(e.evaluate(evalInput()).policyId).toBe('glob');
    expect(e.evaluate(evalInput({ action_type: 'payments.capture' })).policyId).toBe('glob');
    expect(e.evaluate(evalInput({ action_type: 'orders.read' })).policyId).toBe('list');
    expect(e.evaluate(evalInput({ action_type: 'other', agent_id: 'someone-else' })).policyId).toBe('any');
    expect(e.evaluate(evalInput({ action_type: 'other' })).policyId).toBeNull();
  });

  it('gives the same answer as a linear scan over many policies', () => {
    const ps: PolicyConfig[] = [];
    for (let i = 0; i < 300; i++) {
      const at = i % 3 === 0 ? `svc${i % 17}.*` : `svc${i % 17}.op${i % 5}`;
      ps.push(policy({ id: `p${i}`, priority: i % 7, action: (['allow', 'deny', 'flag'] as const)[i % 3]!, conditions: { action_type: at, 'parameters.n': { gte: i % 11 } } }));
    }
    const e = engine(ps);
    const order = [...ps].sort((a, b) => b.priority - a.priority || ({ deny: 3, require_approval: 2, flag: 1, allow: 0 }[b.action] - { deny: 3, require_approval: 2, flag: 1, allow: 0 }[a.action]) || ps.indexOf(a) - ps.indexOf(b));
    const glob = (p: string, t: string) => (p.endsWith('*') ? t.startsWith(p.slice(0, -1)) : p === t);
    for (let s = 0; s < 17; s++) {
      for (let o = 0; o < 6; o++) {
        for (const n of [0, 5, 10]) {
          const at = `svc${s}.op${o}`;
          const want = order.find((p) => glob(p.conditions.action_type as string, at) && n >= ((p.conditions['parameters.n'] as { gte: number }).gte))?.id ?? null;
          expect(e.evaluate(evalInput({ action_type: at, parameters: { n } })).policyId).toBe(want);
        }
      }
    }
  });

  it('explain lists every matching policy and the risk breakdown', () => {
    const e = engine([policy({ id: 'a', priority: 2, action: 'allow' }), policy({ id: 'b', priority: 1, action: 'deny' })]);
    const ex = e.explain(evalInput());
    expect(ex.matched.map((m) => m.id)).toEqual(['a', 'b']);
    expect(ex.risk).toEqual([{ factor: 'base', detail: 'base score', points: 10 }]);
  });

  it('explain scores the risk once and decides as evaluate does, a policy on risk.score included', () => {
    const e = engine([policy({ id: 'risky', priority: 2, action: 'deny', conditions: { 'risk.score': { gte: 10 } } }), policy({ id: 'rest', priority: 1, action: 'allow' })]);
    const score = vi.spyOn(RiskModel.prototype, 'score');
    const explain = vi.spyOn(RiskModel.prototype, 'explain');
    try {
      const input = evalInput();
      const ex = e.explain(input);
      // One walk of the risk model: its breakdown, whose points are the score.
      expect([explain.mock.calls.length, score.mock.calls.length]).toEqual([1, 0]);
      expect(input.risk.score).toBe(10);
      expect(ex.decision).toEqual(e.evaluate(evalInput()));
      expect(ex.decision.policyId).toBe('risky');
      expect(ex.matched.map((m) => m.id)).toEqual(['risky', 'rest']);
    } finally {
      score.mockRestore();
      explain.mockRestore();
    }
  });
});
