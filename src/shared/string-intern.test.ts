import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StringIntern } from './string-intern.js';

describe('StringIntern', () => {
  it('decodes any bytes exactly as Buffer.toString("utf8") does, hit or miss', () => {
    // A tiny table: most lookups collide, so misses, evictions and hits all happen.
    const intern = new StringIntern(4, 16);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 24 }), { minLength: 1, maxLength: 50 }), fc.nat(8), (values, pad) => {
        for (const v of [...values, ...values]) {
          const buf = Buffer.concat([Buffer.alloc(pad, 0x41), Buffer.from(v), Buffer.alloc(3, 0x42)]);
          expect(intern.decode(buf, pad, pad + v.length)).toBe(Buffer.from(v).toString('utf8'));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('finds bytes it has seen at any offset, and never confuses bytes of the same length and slot', () => {
    const intern = new StringIntern(1, 16); // one slot: every lookup lands on the same entry
    expect(intern.decode(Buffer.from('xx-agent-id'), 1, 11)).toBe('x-agent-id');
    expect(intern.decode(Buffer.from('x-agent-id'), 0, 10)).toBe('x-agent-id');
    expect(intern.decode(Buffer.from('x-agent-iD'), 0, 10)).toBe('x-agent-iD');
    expect(intern.decode(Buffer.from('x-agent-id'), 0, 10)).toBe('x-agent-id');
    expect(intern.decode(Buffer.from('é'), 0, 2)).toBe('é');
    expect(intern.decode(Buffer.from('a'.repeat(17)), 0, 17)).toBe('a'.repeat(17)); // past maxBytes
  });

  it('refuses a table size that is not a power of two', () => {
    expect(() => new StringIntern(1000)).toThrow(/power of two/);
  });
  it('latin1: decodes visible ASCII as toString("latin1") does, hit or miss', () => {
    const intern = new StringIntern(4, 16, { latin1: true });
    for (const v of ['abc', 'x'.repeat(16), 'y'.repeat(17), 'abc', '~!', '']) {
      const buf = Buffer.from(`[${v}]`, 'latin1');
      expect(intern.decode(buf, 1, buf.length - 1)).toBe(buf.toString('latin1', 1, buf.length - 1));
    }
  });

  it('second chance: a value used again keeps its slot over one new value, not two', () => {
    // Whether a decode hit the table: a miss slices the buffer (counted), a hit does not.
    let misses = 0;
    const hit = (s: string, t: StringIntern): boolean => {
      const buf = Buffer.from(s, 'latin1') as Buffer & { latin1Slice(a: number, b: number): string };
      const slice = buf.latin1Slice.bind(buf);
      buf.latin1Slice = (a, b) => { misses++; return slice(a, b); };
      const before = misses;
      expect(t.decode(buf, 0, s.length)).toBe(s);
      return misses === before;
    };
    // One slot: every value competes for it.
    for (const secondChance of [false, true]) {
      const t = new StringIntern(1, 16, { latin1: true, secondChance });
      expect([hit('repeat', t), hit('repeat', t)]).toEqual([false, true]);
      expect(hit('once-1', t)).toBe(false);
      expect(hit('repeat', t)).toBe(secondChance); // kept over one new value only with a second chance
    }
    const t = new StringIntern(1, 16, { latin1: true, secondChance: true });
    hit('repeat', t);
    hit('repeat', t);
    hit('once-1', t); // spends the second chance
    hit('once-2', t); // takes the slot
    expect([hit('once-2', t), hit('repeat', t)]).toEqual([true, false]);
  });
});
