import { describe, expect, it } from 'vitest';
import { assertJsonDepth, jsonDepth } from './json-depth.js';

describe('jsonDepth', () => {
  it('counts objects and arrays, not brackets inside strings', () => {
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(jsonDepth('{"a":"[[[[{{{{"}')).toBe(1);
    expect(jsonDepth('["\\"[[[", [1]]')).toBe(2); // an escaped quote does not end the string
    expect(jsonDepth('["\\\\", [[1]]]')).toBe(3); // an escaped backslash does not escape the quote
    expect(jsonDepth('["\\\\\\"[[", 1]')).toBe(1);
    expect(jsonDepth('["never closed [[[[')).toBe(1);
  });

  it('stops once past the limit', () => {
    expect(jsonDepth(`${'['.repeat(100)}${']'.repeat(100)}`, 10)).toBe(11);
  });

  it('agrees with the parsed value on random documents', () => {
    const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    const strings = ['', '\\', '"', '[', '{"x"', 'é\\n'];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const gen = (d: number): unknown => {
      const k = rnd(d > 5 ? 2 : 4);
      if (k === 0) return strings[rnd(strings.length)] ?? '';
      if (k === 1) return rnd(100);
      if (k === 2) return Array.from({ length: rnd(3) }, () => gen(d + 1));
      return Object.fromEntries(Array.from({ length: rnd(3) }, (_, i) => [`${strings[rnd(strings.length)]}${i}`, gen(d + 1)]));
    };
    for (let i = 0; i < 500; i++) {
      const v = gen(0);
      expect(jsonDepth(JSON.stringify(v))).toBe(depthOf(v));
    }
  });

  it('assertJsonDepth refuses exactly what nests deeper than the limit, whatever the bracket count', () => {
    const docs = [
      '{"a":[1,{"b":2}]}', '[[[]]]', '{"s":"[[[[[[{{{{"}', '[[1],[2],[3],[4],[5]]', `${'['.repeat(6)}${']'.repeat(6)}`,
      '{"a":{"b":{"c":{}}},"d":"{{{"}', '["[", "{", [[["x"]]]]',
    ];
    for (const doc of docs) {
      for (let max = 1; max <= 7; max++) {
        const refused = (() => {
          try {
            assertJsonDepth(doc, max);
            return false;
          } catch {
            return true;
          }
        })();
        expect(refused, `${doc} at ${max}`).toBe(jsonDepth(doc) > max);
      }
    }
  });
});
