/**
 * Wakes long-polls (`GET …/status?wait=30`) the moment an action changes, instead of a loop
 * that re-reads the store: the approval service calls `changed(action_id)` after every
 * committed transition, and each waiter holds only a timer and a closure until then.
 *
 * A replica learns of the changes it commits itself; on a shared PostgreSQL store the others'
 * arrive as notifications (approvals/layer.ts), or by polling `ids()` while those are down.
 */
export interface Watch {
  /** Resolves true when the action changed, false at the timeout or on cancel. */
  readonly changed: Promise<boolean>;
  cancel(): void;
}

export class ActionWatch {
  private readonly waiters = new Map<string, Set<(changed: boolean) => void>>();
  private readonly listeners = new Set<(actionId: string) => void>();

  /** Told of every change (created, voted, decided, completed); returns the unsubscribe. */
  subscribe(listener: (actionId: string) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Start watching before reading the action, so a change in between is not missed. */
  watch(actionId: string, timeoutMs: number): Watch {
    let settle: (changed: boolean) => void = () => {};
    const changed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => settle(false), timeoutMs);
      settle = (value) => {
        clearTimeout(timer);
        const set = this.waiters.get(actionId);
        set?.delete(settle);
        if (set?.size === 0) this.waiters.delete(actionId);
        resolve(value);
      };
    });
    let set = this.waiters.get(actionId);
    if (!set) this.waiters.set(actionId, (set = new Set()));
    set.add(settle);
    return { changed, cancel: () => settle(false) };
  }

  /** Wakes every waiter of the action. */
  changed(actionId: string): void {
    for (const l of this.listeners) l(actionId);
    const set = this.waiters.get(actionId);
    if (!set) return;
    for (const settle of [...set]) settle(true);
  }

  /** The actions someone is waiting on (for a poller when change notifications are not arriving). */
  ids(): string[] {
    return [...this.waiters.keys()];
  }

  /** Waiters currently held (for tests and a gauge). */
  get size(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }
}
