import { describe, expect, it } from 'vitest';
import { IssueList } from '../config/errors.js';
import { allHold, compileConditions, compileValue } from './conditions.js';
import { evalInput } from '../../test/helpers/eval-input.js';

function matcher(spec: unknown) {
  const issues = new IssueList();
  const m = compileValue(spec, issues, ['c']);
  expect(issues.items).toEqual([]);
  return m!;
}

describe('condition values', () => {
  it.each<[unknown, unknown, boolean]>([
    ['payments.refund', 'payments.refund', true],
    ['payments.refund', 'payments.read', false],
    ['payments.*', 'payments.read', true],
    [5, '5', true],
    [5, 5, true],
    [5, '5.0', true],
    [true, true, true],
    [true, 'true', true],
    [['a', 'b'], 'b', true],
    [['a', 'b'], 'c', false],
    ['payments', ['ops', 'payments'], true],
    [null, undefined, true],
    [null, 'x', false],
    [{ in: ['a', 'b'] }, 'a', true],
    [{ not_in: ['a', 'b'] }, 'c', true],
    [{ not_in: ['a', 'b'] }, ['c', 'a'], false],
    [{ prefix: 'refund/' }, 'refund/1', true],
    [{ glob: 'refund/*' }, 'order/1', false],
    [{ regex: '^r[0-9]+$' }, 'r12', true],
    [{ regex: '^r[0-9]+$' }, 'r1x', false],
    [{ gt: 1000 }, '1500', true],
    [{ gt: 1000 }, '1000', false],
    [{ gte: 1000 }, 1000, true],
    [{ lt: 10, gte: 0 }, '5', true],
    [{ gt: 1000 }, '1500.5', true],
    [{ gt: 1000 }, '01500', true],
    [{ lt: 0 }, '-0.5', true],
    [{ lt: 10 }, undefined, false],
    [{ lt: 10 }, null, false],
    [5, ' 5', false],
    [1500, '0x5DC', false],
    [{ gt: 1000 }, ['5', '5000'], true],
    [{ exists: true }, '', true],
    [{ exists: true }, undefined, false],
    [{ exists: false }, null, true],
  ])('%j matches %j: %s', (spec, actual, want) => {
    expect(matcher(spec)(actual)).toBe(want);
  });

  // Each spelling some upstream parser reads as 5000 (parseInt, Python int(), Java
  // Integer.parseInt, Go ParseInt, or Number()) while another reads NaN: a threshold must
  // never take one as "not over" and fall through to a more permissive policy.
  it.each<[unknown]>([
    ['5000x'], ['5_000'], ['5,000'], ['5000.00.1'], ['５０００'], ['٥٠٠٠'], ['+5000'], [' 5000 '], ['5000 '],
    ['5e3'], ['0x1388'], ['0b1001110001000'], ['Infinity'], ['NaN'], [''], ['-'], ['.5'], ['5.'], ['1'.repeat(33)],
    [true], [{}], [[1, 'x']], [[['5000']]],
  ])('a threshold on %j denies the request (invalid_number)', (actual) => {
    for (const spec of [{ gt: 1000 }, { gte: 1000 }, { lt: 1000 }, { lte: 1000 }]) {
      expect(() => matcher(spec)(actual)).toThrow(expect.objectContaining({ code: 'invalid_number', httpStatus: 400 }));
    }
  });

  it('names the condition in the invalid_number message', () => {
    const issues = new IssueList();
    const m = compileValue({ gt: 1000 }, issues, ['policies', 0, 'conditions', 'parameters.amount']);
    expect(() => m!('5,000')).toThrow('parameters.amount: "5,000" is not a number');
  });

  it.each<[unknown, string]>([
    [{ gtt: 1 }, 'c.gtt: unknown operator'],
    [{ gt: 'x' }, 'c.gt: must be a number'],
    [{ regex: '(a)\\1' }, 'c.regex: regex is not valid RE2'],
    [{ regex: '(?=a)' }, 'c.regex: regex is not valid RE2'],
    [{ in: 'a' }, 'c.in: must be a list'],
    [{ exists: 'yes' }, 'c.exists: must be true or false'],
    [{}, 'c: an operator object needs at least one operator'],
    [[{ a: 1 }], 'c[0]: list items must be'],
  ])('%j is rejected at load naming the field', (spec, message) => {
    const issues = new IssueList();
    expect(compileValue(spec, issues, ['c'])).toBeUndefined();
    expect(issues.items.map((i) => `${i.path}: ${i.message}`).join('\n')).toContain(message);
  });
});

describe('condition paths', () => {
  const input = evalInput(
    { parameters: { amount: '1500', nested: { deep: 1 } }, context: { environment: 'production' } },
    {},
    { headers: { 'x-tenant': 'acme' }, query: { q: 'x' } },
  );
  it.each<[Record<string, unknown>, boolean]>([
    [{ action_type: 'payments.refund', 'agent.type': 'supervised' }, true],
    [{ 'agent.capabilities': 'payments' }, true],
    [{ 'agent.registered': true }, true],
    [{ 'parameters.amount': { gt: 1000 } }, true],
    [{ 'parameters.nested.deep': 1 }, true],
    [{ 'context.environment': 'production' }, true],
    [{ 'request.method': 'POST', 'request.headers.X-Tenant': 'acme' }, true],
    [{ 'request.query.q': 'x' }, true],
    [{ 'risk.score': { lt: 1 } }, true],
    [{ agent_id: 'crawler' }, false],
    [{ 'parameters.constructor': { exists: true } }, false],
  ])('%j → %s', (conds, want) => {
    const issues = new IssueList();
    const c = compileConditions(conds, issues, ['conditions']);
    expect(issues.items).toEqual([]);
    expect(allHold(c, input)).toBe(want);
  });

  it('rejects unknown paths with the field named', () => {
    const issues = new IssueList();
    compileConditions({ 'agnt.type': 'x', 'agent.color': 'red', 'risk.level': 1 }, issues, ['policies', 0, 'conditions']);
    expect(issues.items.map((i) => i.path)).toEqual(['policies[0].conditions["agnt.type"]', 'policies[0].conditions["agent.color"]', 'policies[0].conditions["risk.level"]']);
  });
});
