import { describe, expect, it } from 'vitest';
import { KeyRateLimiter } from './rate-limit.js';

describe('KeyRateLimiter', () => {
  const limit = { requests_per_second: 2, burst: 3 };

  it('lets a burst through, then says how long until the next token', () => {
    let now = 0;
    const l = new KeyRateLimiter(() => now);
    expect([l.take('a', limit), l.take('a', limit), l.take('a', limit)]).toEqual([undefined, undefined, undefined]);
    expect(l.take('a', limit)).toBe(0.5);
    now = 250;
    expect(l.take('a', limit)).toBe(0.25);
    now = 500;
    expect(l.take('a', limit)).toBeUndefined();
    expect(l.take('b', limit)).toBeUndefined(); // one bucket per key
  });

  it('never refills past the burst, nor when the clock steps back', () => {
    let now = 0;
    const l = new KeyRateLimiter(() => now);
    for (let i = 0; i < 3; i++) l.take('a', limit);
    now = -60_000;
    expect(l.take('a', limit)).toBe(0.5);
    now = 3_600_000;
    expect([l.take('a', limit), l.take('a', limit), l.take('a', limit), l.take('a', limit)]).toEqual([undefined, undefined, undefined, 0.5]);
  });

  it('caps the tokens at a smaller burst after a reload', () => {
    let now = 0;
    const l = new KeyRateLimiter(() => now);
    l.take('a', limit);
    now = 10_000;
    expect([l.take('a', { ...limit, burst: 1 }), l.take('a', { ...limit, burst: 1 })]).toEqual([undefined, 0.5]);
  });
});
