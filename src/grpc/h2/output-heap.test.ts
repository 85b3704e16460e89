import { describe, expect, it } from 'vitest';
import { OutputHeap, type OutputHolder } from './output-heap.js';

const holder = (unsent: number): OutputHolder & { unsent: number } => ({ unsent, heapAt: -1 });

describe('OutputHeap', () => {
  it('gives the largest holder through inserts, moves and removals', () => {
    const heap = new OutputHeap<OutputHolder & { unsent: number }>();
    const xs = Array.from({ length: 200 }, (_, i) => holder(((i * 7919) % 1000) + 1));
    for (const x of xs) heap.update(x);
    expect(heap.size).toBe(200);
    // Random moves, up and down, and some to 0 (out of the heap).
    let seed = 1;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let round = 0; round < 2000; round++) {
      const x = xs[Math.floor(rand() * xs.length)]!;
      x.unsent = rand() < 0.2 ? 0 : Math.floor(rand() * 5000);
      heap.update(x);
      if (rand() < 0.05) heap.remove(xs[Math.floor(rand() * xs.length)]!);
      const inHeap = xs.filter((h) => h.heapAt >= 0);
      expect(heap.size).toBe(inHeap.length);
      expect(inHeap.every((h) => h.unsent > 0)).toBe(true);
      expect(heap.peek()?.unsent ?? 0).toBe(Math.max(0, ...inHeap.map((h) => h.unsent)));
    }
  });

  it('holds nothing of 0 and forgets what is removed', () => {
    const heap = new OutputHeap<OutputHolder & { unsent: number }>();
    const a = holder(0);
    heap.update(a);
    expect(heap.size).toBe(0);
    a.unsent = 5;
    heap.update(a);
    heap.remove(a);
    heap.remove(a);
    expect([heap.size, a.heapAt, heap.peek()]).toEqual([0, -1, undefined]);
  });
});
