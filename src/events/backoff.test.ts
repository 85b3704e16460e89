import { describe, expect, it } from 'vitest';
import { fullJitterDelay } from './backoff.js';

const o = { baseMs: 1000, maxMs: 60_000 };

describe('fullJitterDelay', () => {
  it.each([
    [1, 0.5, 500], [2, 0.5, 1000], [3, 0.999, 3996], [7, 1 - 1e-9, 59_999], [40, 0.5, 30_000], [1, 0, 0],
  ])('attempt %i with random %f waits %i ms', (attempt, r, ms) => {
    expect(fullJitterDelay(attempt, o, () => r)).toBe(ms);
  });
});
