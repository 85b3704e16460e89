import { describe, expect, it } from 'vitest';
import { asciiSet, onlyIn } from './ascii-set.js';

describe('asciiSet / onlyIn', () => {
  it('takes a set from characters or a one-character expression, and nothing beyond ASCII', () => {
    const digits = asciiSet('0123456789');
    expect(asciiSet(/^[0-9]$/)).toEqual(digits);
    expect(onlyIn(digits, '2026')).toBe(true);
    expect(onlyIn(digits, '')).toBe(true);
    expect(onlyIn(digits, '20a6')).toBe(false);
    // Full-width and other digits beyond ASCII are not in an ASCII set.
    expect(onlyIn(digits, '２０')).toBe(false);
    expect(onlyIn(asciiSet(/^\w$/u), 'é')).toBe(false);
  });

  it('agrees with the expression it came from for every UTF-16 code unit', () => {
    const re = /^[A-Za-z0-9._~-]$/;
    const set = asciiSet(re);
    for (let c = 0; c < 0x10000; c++) {
      const s = String.fromCharCode(c);
      if (onlyIn(set, s) !== re.test(s)) throw new Error(`differs at U+${c.toString(16)}`);
    }
  });
});
