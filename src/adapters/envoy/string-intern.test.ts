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
});
