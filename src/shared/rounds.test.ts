import { describe, expect, it } from 'vitest';
import { Rounds } from './rounds.js';
import type { Timers } from './runtime.js';

/** Timers that only record: the test fires them by hand. */
function handTimers(): Timers & { armed: Map<number, { fn: () => void; ms: number }> } {
  const armed = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    armed,
    setTimeout: (fn, ms) => { armed.set(next, { fn, ms }); return next++; },
    clearTimeout: (h) => { armed.delete(h as number); },
  };
}

describe('Rounds', () => {
  it('does nothing before start(); start() resolves after the first round and arms the returned delay', async () => {
    const timers = handTimers();
    let rounds = 0;
    const r = new Rounds(timers, async () => { rounds++; return 250; });
    r.notify();
    expect(rounds).toBe(0);
    await r.start();
    expect(rounds).toBe(1);
    expect([...timers.armed.values()].map((t) => t.ms)).toEqual([250]);
    [...timers.armed.values()][0]!.fn();
    await r.stop();
    expect(rounds).toBe(2);
    expect(timers.armed.size).toBe(0);
  });

  it('notifies during a round become one more round right after it, not one each', async () => {
    const timers = handTimers();
    let rounds = 0;
    let release: () => void = () => undefined;
    const r = new Rounds(timers, async () => {
      rounds++;
      if (rounds === 1) await new Promise<void>((res) => { release = res; });
      return 1000;
    });
    const first = r.start();
    r.notify();
    r.notify();
    release();
    await first;
    await r.stop();
    expect(rounds).toBe(2);
  });

  it('takeAgain() tells a round that a notify arrived while it ran, once', async () => {
    const timers = handTimers();
    const seen: boolean[] = [];
    const r: Rounds = new Rounds(timers, async () => {
      await Promise.resolve(); // a round is running once it has begun: notify() then asks for another
      r.notify();
      seen.push(r.takeAgain(), r.takeAgain());
      return 1000;
    });
    await r.start();
    await r.stop();
    expect(seen).toEqual([true, false]);
  });
});
