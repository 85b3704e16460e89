/**
 * The connections holding unsent output, largest first: a binary max-heap that knows where each
 * entry sits, so a connection whose unsent output changed moves in O(log n) and the largest is
 * read in O(1). The output budget (connection.ts budgetOutput) closes the largest holders: past
 * the budget, the largest holds more than its share (the budget over the open connections),
 * whatever the share is now — it moves with every connection opened or closed, so a connection
 * can pass its share without writing, and no list kept by share alone would find it.
 */
export interface OutputHolder {
  /** The unsent bytes it is ordered by (0: not in the heap). */
  readonly unsent: number;
  /** Its index in the heap; -1 when not in it (kept by the heap). */
  heapAt: number;
}

export class OutputHeap<T extends OutputHolder> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The largest holder; undefined when none holds anything. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** After `x.unsent` changed: in the heap, moved, or out of it (0). */
  update(x: T): void {
    if (x.heapAt < 0) {
      if (x.unsent <= 0) return;
      x.heapAt = this.items.length;
      this.items.push(x);
      this.up(x.heapAt);
    } else if (x.unsent <= 0) {
      this.remove(x);
    } else {
      this.down(this.up(x.heapAt));
    }
  }

  remove(x: T): void {
    const at = x.heapAt;
    if (at < 0) return;
    x.heapAt = -1;
    const last = this.items.pop() as T;
    if (at === this.items.length) return;
    this.items[at] = last;
    last.heapAt = at;
    this.down(this.up(at));
  }

  private up(at: number): number {
    const items = this.items;
    const x = items[at] as T;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const p = items[parent] as T;
      if (p.unsent >= x.unsent) break;
      items[at] = p;
      p.heapAt = at;
      at = parent;
    }
    items[at] = x;
    x.heapAt = at;
    return at;
  }

  private down(at: number): void {
    const items = this.items;
    const n = items.length;
    const x = items[at] as T;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && (items[child + 1] as T).unsent > (items[child] as T).unsent) child++;
      const c = items[child] as T;
      if (c.unsent <= x.unsent) break;
      items[at] = c;
      c.heapAt = at;
      at = child;
    }
    items[at] = x;
    x.heapAt = at;
  }
}
