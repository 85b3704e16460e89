/**
 * The store's A/B tests followed by polls and fleet announcements, one read at a time: a poll's
 * read answered late never puts back a list older than an announcement's read.
 */
import { describe, expect, it } from 'vitest';
import type { AbTestRecord } from '../approvals/store/ab-test-store.js';
import { runtimeFromText } from '../config/runtime.js';
import { silentLogger, type Timers } from '../shared/runtime.js';
import { AbRegistry } from './ab-registry.js';
import { followStoredAbTests } from './ab-sync.js';

const RT = runtimeFromText('policies: []\n', 'none.yaml', 1);
const TEST: AbTestRecord = { name: 'new-one', control_policy: 'a', test_policy: 'b', traffic_split: 50, duration_days: 7, start: 0, shadow: false, created_at: 0 };

/** A store whose reads are answered by hand, each with what the store held when it began. */
function handStore() {
  let held: AbTestRecord[] = [];
  const reads: { answer: () => void; inFlight: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  return {
    reads,
    get maxInFlight() { return maxInFlight; },
    hold(tests: AbTestRecord[]) { held = tests; },
    createAbTest: async () => true,
    listAbTests(): Promise<AbTestRecord[]> {
      const snapshot = held;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      return new Promise((resolve) => reads.push({ inFlight, answer: () => { inFlight--; resolve(snapshot); } }));
    },
  };
}

function handTimers(): Timers & { fire(): void } {
  const armed = new Map<number, () => void>();
  let next = 1;
  return {
    setTimeout: (fn) => { armed.set(next, fn); return next++; },
    clearTimeout: (h) => { armed.delete(h as number); },
    fire() { const [h, fn] = [...armed][0]!; armed.delete(h); fn(); },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('followStoredAbTests', () => {
  it('an announcement during a poll is read after it: the newest list wins', async () => {
    const store = handStore();
    const timers = handTimers();
    const registry = new AbRegistry(() => 0);
    let announce: (e: { kind: string }) => void = () => undefined;
    const sync = followStoredAbTests({
      store, registry, changed: () => undefined, timers, log: silentLogger,
      fleet: { subscribe: (fn) => { announce = fn; return () => undefined; } },
    });
    const started = sync.start();
    await settle();
    store.reads[0]!.answer();
    await started;

    timers.fire(); // a poll begins reading: no test yet
    await settle();
    expect(store.reads).toHaveLength(2);
    store.hold([TEST]); // another replica makes a test and announces it
    announce({ kind: 'ab_tests' });
    await settle();
    // The announcement's read is answered first when the two run at once…
    for (const r of store.reads.slice(2)) r.answer();
    await settle();
    // …and the poll's, begun before the test existed, last.
    store.reads[1]!.answer();
    await settle();
    for (const r of store.reads.slice(2)) r.answer();
    await settle();
    expect(registry.tests(RT).map((t) => t.name)).toEqual(['new-one']);
    expect(store.maxInFlight).toBe(1);
    await sync.stop();
  });

  it('start() rejects when the first read fails; a later failure keeps the tests known', async () => {
    const registry = new AbRegistry(() => 0);
    const failing = { createAbTest: async () => true, listAbTests: async (): Promise<AbTestRecord[]> => { throw new Error('store down'); } };
    await expect(followStoredAbTests({ store: failing, registry, changed: () => undefined, timers: handTimers(), log: silentLogger }).start()).rejects.toThrow('store down');

    let fail = false;
    const flaky = { createAbTest: async () => true, listAbTests: async () => { if (fail) throw new Error('store down'); return [TEST]; } };
    const timers = handTimers();
    const warned: unknown[] = [];
    const sync = followStoredAbTests({ store: flaky, registry, changed: () => undefined, timers, log: { ...silentLogger, warn: (o: unknown) => warned.push(o) } });
    await sync.start();
    fail = true;
    timers.fire();
    await settle();
    expect(registry.tests(RT).map((t) => t.name)).toEqual(['new-one']);
    expect(warned).toHaveLength(1);
    await sync.stop();
  });
});
