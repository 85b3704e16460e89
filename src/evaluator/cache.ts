import { LRUCache } from 'lru-cache';
import { isCacheable, type Decision } from '../core/decision.js';

/** Bounded LRU of decisions with a TTL. Only plain enforce decisions are stored. */
export class DecisionCache {
  private readonly lru: LRUCache<string, Decision> | undefined;

  constructor(opts: { enabled: boolean; ttlMs: number; maxEntries: number }) {
    this.lru =
      opts.enabled && opts.ttlMs > 0
        ? new LRUCache<string, Decision>({ max: opts.maxEntries, ttl: opts.ttlMs, ttlResolution: 50, updateAgeOnGet: false })
        : undefined;
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  get(key: string): Decision | undefined {
    return this.lru?.get(key);
  }

  set(key: string, d: Decision): void {
    if (this.lru && isCacheable(d)) this.lru.set(key, d);
  }

  clear(): void {
    this.lru?.clear();
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }
}
