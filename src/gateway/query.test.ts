import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseQuery } from './query.js';

/** The parser as it was, pair by pair from split('&'): what parseQuery must still answer. */
function bySplit(raw: string, readKeys?: ReadonlySet<string>): unknown {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq === -1 ? pair.length : eq);
    const value = eq === -1 ? '' : pair.slice(eq + 1);
    // Compared through parseQuery itself for one pair: folding, decoding and refusals are its own.
    const one = parseQuery(eq === -1 ? key : `${key}=${value}`, readKeys);
    for (const k in one) {
      const v = one[k] as string;
      const prev = out[k];
      if (readKeys?.has(k) && prev !== undefined) throw new Error(`query parameter "${k}" is given more than once`);
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  }
  return { ...out };
}

const outcome = (f: () => unknown): unknown => {
  try {
    return { value: f() };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

describe('parseQuery', () => {
  it('cuts pairs as split("&") does, for any text of separators, names and escapes', () => {
    const piece = fc.constantFrom('&', '=', 'a', 'B', 'amount', 'Amount[]', ';', '%20', '+', '%zz', 'x', '');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }).map((p) => p.join('')), fc.boolean(), (raw, strict) => {
        const keys = strict ? new Set(['amount', 'b']) : undefined;
        expect(outcome(() => ({ ...parseQuery(raw, keys) }))).toEqual(outcome(() => bySplit(raw, keys)));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a long query of pairs without "=" in linear time', () => {
    const raw = `${'a&'.repeat(50_000)}b=1`;
    const q = parseQuery(raw);
    expect(q.b).toBe('1');
    expect((q.a as string[]).length).toBe(50_000);
  });
});
