import { describe, expect, it } from 'vitest';
import { lastAnswer } from './last-answer.js';

describe('lastAnswer', () => {
  it('answers as the function, calling it only when an argument changed', () => {
    const calls: string[] = [];
    const f = lastAnswer((a: string, b: number | undefined) => {
      calls.push(`${a}:${b}`);
      return `${a}/${b}`;
    });
    expect([f('h', 1), f('h', 1), f('h', 2), f('g', 2), f('g', 2), f('h', 1)]).toEqual(['h/1', 'h/1', 'h/2', 'g/2', 'g/2', 'h/1']);
    expect(calls).toEqual(['h:1', 'h:2', 'g:2', 'h:1']);
  });

  it('keeps nothing from a first call whose arguments equal the empty state', () => {
    const f = lastAnswer((a: string | undefined, b: string | undefined) => `${a ?? '-'}${b ?? '-'}`);
    expect(f(undefined, undefined)).toBe('--');
  });

  it('never keeps arguments it threw for', () => {
    let n = 0;
    const f = lastAnswer((a: string, b: string) => {
      n++;
      if (a === 'bad') throw new Error('bad');
      return a + b;
    });
    expect(f('x', 'y')).toBe('xy');
    expect(() => f('bad', 'y')).toThrow('bad');
    expect(() => f('bad', 'y')).toThrow('bad');
    expect(f('x', 'y')).toBe('xy');
    expect(n).toBe(3);
  });
});
