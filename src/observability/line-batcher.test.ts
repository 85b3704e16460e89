import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineBatcher } from './line-batcher.js';

describe('LineBatcher', () => {
  afterEach(() => vi.useRealTimers());

  it('writes whole lines in batches no larger than maxBytes', () => {
    const writes: string[] = [];
    const b = new LineBatcher({ write: (s: string) => writes.push(s) }, 100, 1000);
    for (let i = 0; i < 10; i++) b.write(`${'x'.repeat(28)}${i}\n`); // 30 bytes each
    b.flush();
    expect(writes.every((w) => w.length <= 100 && w.endsWith('\n'))).toBe(true);
    expect(writes.join('')).toBe(Array.from({ length: 10 }, (_, i) => `${'x'.repeat(28)}${i}\n`).join(''));
    expect(writes.length).toBe(4);
  });

  it('writes a line longer than maxBytes on its own', () => {
    const writes: string[] = [];
    const b = new LineBatcher({ write: (s: string) => writes.push(s) }, 10, 1000);
    b.write('short\n');
    b.write(`${'y'.repeat(30)}\n`);
    b.flush();
    expect(writes).toEqual(['short\n', `${'y'.repeat(30)}\n`]);
  });

  it('flushes a partial batch after maxDelayMs', () => {
    vi.useFakeTimers();
    const writes: string[] = [];
    const b = new LineBatcher({ write: (s: string) => writes.push(s) }, 1000, 100);
    b.write('a\n');
    b.write('b\n');
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(writes).toEqual(['a\nb\n']);
  });
});
