import { describe, expect, it } from 'vitest';
import type { RiskConfig } from '../config/schema.js';
import { isWrite, RiskModel, type RiskFactor } from './risk.js';
import { evalInput } from '../../test/helpers/eval-input.js';

const cfg: RiskConfig = {
  base: 10,
  action_types: [{ match: 'payments.*', score: 40 }, { match: '*', score: 5 }],
  resources: [{ match: '*secret*', score: 30 }, { match: 'refund/*', score: 5 }],
  environments: { production: 20, staging: 5 },
  agent_types: { autonomous: 20, supervised: 0 },
  unregistered_agent: 30,
  write_method: 15,
};

describe('RiskModel', () => {
  const m = new RiskModel(cfg);

  it('adds up the documented factors and explains them', () => {
    const input = evalInput({ context: { environment: 'production' } }, { type: 'autonomous' });
    const { score, factors } = m.explain(input);
    expect(score).toBe(40 + 5 + 20 + 20 + 15);
    expect(m.score(input)).toBe(score);
    expect(factors.map((f) => f.factor)).toEqual(['action_type', 'resource', 'environment', 'agent_type', 'write_method']);
    expect(factors.reduce((sum, f: RiskFactor) => sum + f.points, 0)).toBe(score);
  });

  it('uses the base when no action_type pattern matches, and the first pattern when several do', () => {
    const m2 = new RiskModel({ ...cfg, action_types: [] });
    expect(m2.score(evalInput({ resource: 'x' }, {}, { method: 'GET' }))).toBe(10);
    expect(m.score(evalInput({ resource: 'x' }, {}, { method: 'GET' }))).toBe(40);
  });

  it('scores unregistered agents and clamps to 0..100', () => {
    expect(m.score(evalInput({ resource: 'db/secret', context: { environment: 'production' } }, { registered: false, type: undefined }))).toBe(100);
    const low = new RiskModel({ ...cfg, base: 0, action_types: [], resources: [], write_method: -50 });
    expect(low.score(evalInput())).toBe(0);
    // explain's score is its factors' sum, clamped the same way.
    const high = evalInput({ resource: 'db/secret', context: { environment: 'production' } }, { registered: false, type: undefined });
    expect([m.explain(high).score, low.explain(evalInput()).score]).toEqual([100, 0]);
  });

  it('classifies writes by method, or by the action verb without one', () => {
    expect(isWrite('GET', 'x')).toBe(false);
    expect(isWrite('DELETE', 'x')).toBe(true);
    expect(isWrite(undefined, 'orders.read')).toBe(false);
    expect(isWrite(undefined, 'orders.delete')).toBe(true);
  });
});
