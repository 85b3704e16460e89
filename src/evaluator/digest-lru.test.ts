import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestLru } from './digest-lru.js';

/**
 * Digest number n: its first word is n % 3, so most digests share a bucket and the chains,
 * not the buckets, tell them apart; the rest of the bytes encode n.
 */
function digest(n: number): string {
  const d = new Uint8Array(32);
  d[0] = n % 3;
  d[31] = n & 0xff;
  d[30] = n >> 8;
  return Buffer.from(d).toString('latin1');
}

/** The reference: a Map whose insertion order is recency (oldest first). */
class ModelLru {
  private readonly m = new Map<number, { v: number; exp: number }>();
  constructor(private readonly cap: number, private readonly ttl: number) {}
  get(k: number, now: number): number | undefined {
    const e = this.m.get(k);
    if (e === undefined) return undefined;
    this.m.delete(k);
    if (e.exp <= now) return undefined;
    this.m.set(k, e);
    return e.v;
  }
  set(k: number, v: number, now: number): void {
    if (!this.m.delete(k) && this.m.size >= this.cap) {
      // Full: an expired entry may be counted still; the LRU one goes, as in the table.
      this.m.delete(this.m.keys().next().value as number);
    }
    this.m.set(k, { v, exp: now + this.ttl });
  }
  get size(): number {
    return this.m.size;
  }
}

type Op = { kind: 'get' | 'set'; key: number; value: number; advance: number };

describe('DigestLru', () => {
  it('behaves like a Map-based LRU with a TTL, for any sequence of gets, sets and clock steps', () => {
    const op = fc.record({
      kind: fc.constantFrom('get', 'set') as fc.Arbitrary<'get' | 'set'>,
      key: fc.integer({ min: 0, max: 40 }),
      value: fc.integer(),
      advance: fc.constantFrom(0, 0, 0, 1, 5, 30),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 50 }), fc.array(op, { maxLength: 300 }), (cap, ttl, ops: Op[]) => {
        let now = 0;
        const table = new DigestLru<number>(cap, ttl, () => now);
        const model = new ModelLru(cap, ttl);
        for (const o of ops) {
          now += o.advance;
          if (o.kind === 'get') expect(table.get(digest(o.key))).toBe(model.get(o.key, now));
          else {
            table.set(digest(o.key), o.value);
            model.set(o.key, o.value, now);
          }
          expect(table.size).toBe(model.size);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('evicts the least recently used entry when full (a get counts as a use)', () => {
    const t = new DigestLru<string>(2, 1000, () => 0);
    t.set(digest(1), 'a');
    t.set(digest(2), 'b');
    expect(t.get(digest(1))).toBe('a');
    t.set(digest(3), 'c');
    expect(t.get(digest(2))).toBeUndefined();
    expect(t.get(digest(1))).toBe('a');
    expect(t.get(digest(3))).toBe('c');
  });

  it('tells apart digests that differ only in their last byte', () => {
    const t = new DigestLru<string>(4, 1000, () => 0);
    const a = '\0'.repeat(32);
    const b = `${'\0'.repeat(31)}\u00ff`;
    t.set(a, 'a');
    expect(t.get(b)).toBeUndefined();
    t.set(b, 'b');
    expect([t.get(a), t.get(b)]).toEqual(['a', 'b']);
  });

  it('expires an entry ttl after it was set, not after it was last read', () => {
    let now = 0;
    const t = new DigestLru<string>(4, 100, () => now);
    t.set(digest(1), 'a');
    now = 99;
    expect(t.get(digest(1))).toBe('a');
    now = 100;
    expect(t.get(digest(1))).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it('reads expiry at the time a caller passes, at its own clock without one', () => {
    let now = 0;
    const t = new DigestLru<string>(4, 100, () => now);
    t.set(digest(1), 'a');
    now = 1000;
    expect(t.get(digest(1), 99)).toBe('a');
    expect(t.get(digest(1), 100)).toBeUndefined();
    t.set(digest(2), 'b');
    expect(t.get(digest(2), 1099)).toBe('b');
    now = 1100;
    expect(t.get(digest(2))).toBeUndefined();
  });

  it('is empty after clear and fills again', () => {
    const t = new DigestLru<number>(3, 1000, () => 0);
    for (let i = 0; i < 5; i++) t.set(digest(i), i);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get(digest(4))).toBeUndefined();
    for (let i = 0; i < 5; i++) t.set(digest(i), i);
    expect([t.get(digest(2)), t.get(digest(3)), t.get(digest(4)), t.size]).toEqual([2, 3, 4, 3]);
  });

  it('refuses a capacity that is not a positive integer, and a digest of the wrong size', () => {
    expect(() => new DigestLru(0, 1)).toThrow(/capacity must be a positive integer/);
    expect(() => new DigestLru(1, 1).get('short')).toThrow(/a digest is 32 latin1 characters, got 5/);
  });
});
