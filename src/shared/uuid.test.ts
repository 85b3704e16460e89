import { describe, expect, it } from 'vitest';
import { uuidV4 } from './uuid.js';

describe('uuidV4', () => {
  it('gives RFC 4122 version-4 ids, all distinct, across many entropy batches', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const id = uuidV4();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(20_000);
  });

  it('uses every hex digit in every random position (no stuck nibble)', () => {
    const digits = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 5000; i++) [...uuidV4()].forEach((c, k) => digits[k]!.add(c));
    const fixed = new Map([[8, 1], [13, 1], [14, 1], [18, 1], [19, 4], [23, 1]]); // dashes, version, variant
    digits.forEach((d, k) => expect(d.size, `position ${k}`).toBe(fixed.get(k) ?? 16));
  });
});
