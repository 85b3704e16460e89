import { describe, expect, it } from 'vitest';
import { compileGlob, globMatch } from './glob.js';

describe('glob', () => {
  it.each([
    ['payments.*', 'payments.refund', true],
    ['payments.*', 'payments', false],
    ['*', '', true],
    ['*.read', 'orders.read', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['refund/*', 'refund/a/b', true],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['*secret*', 'db/secrets/x', true],
  ])('%s ~ %s = %s', (p, t, want) => {
    expect(globMatch(p, t)).toBe(want);
    expect(compileGlob(p)(t)).toBe(want);
  });

  it('stays fast on adversarial input (no backtracking blow-up)', () => {
    const p = `${'*a'.repeat(30)}b`;
    expect(globMatch(p, 'a'.repeat(5000))).toBe(false);
  });
});
