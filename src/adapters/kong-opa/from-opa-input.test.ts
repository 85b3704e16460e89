import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { queryString } from './from-opa-input.js';
import type { OpaQuery } from './schema.js';

/** The query string as first written: every pair in an array, joined with `&`. */
function reference(q: OpaQuery | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const key in q) {
    const v = q[key];
    const k = encodeURIComponent(key);
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item === true) parts.push(k);
      else if (typeof item === 'string') parts.push(`${k}=${encodeURIComponent(item)}`);
    }
  }
  return parts.join('&');
}

describe('queryString', () => {
  it('re-encodes any query map as the array-and-join version did', () => {
    const value = fc.oneof(fc.string(), fc.constant(true as const), fc.constant(false), fc.integer());
    const query = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(value, fc.array(value, { maxLength: 3 })), { maxKeys: 5 });
    fc.assert(fc.property(query, (q) => queryString(q as OpaQuery) === reference(q as OpaQuery)), { numRuns: 500 });
    expect(queryString({ '': true, a: '1' } as OpaQuery)).toBe('&a=1');
    expect(queryString(undefined)).toBe('');
  });
});
