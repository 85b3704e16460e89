import { isCacheable, type Decision } from '../core/decision.js';
import { DigestLru, KeyDigest } from './digest-lru.js';

/**
 * Bounded LRU of decisions with a TTL. Only plain enforce decisions are stored.
 *
 * The table holds the SHA-256 of each fingerprint, not the fingerprint itself (digest-lru.ts
 * says why). Equal digests are taken to mean equal fingerprints: a caller who could make two
 * different requests collide could get one's cached decision for the other, so the digest
 * must be collision-resistant against someone choosing both inputs — hence SHA-256 (0.42 µs
 * here for a 90-character key), not a fast non-cryptographic hash.
 */
export class DecisionCache {
  private readonly table: DigestLru<Decision> | undefined;
  private readonly digests = new KeyDigest();

  /** `now`: the clock TTLs are read on, in ms (performance.now() unless given; RuntimeState gives the checks' clock). */
  constructor(opts: { enabled: boolean; ttlMs: number; maxEntries: number; now?: () => number }) {
    this.table = opts.enabled && opts.ttlMs > 0 ? new DigestLru<Decision>(opts.maxEntries, opts.ttlMs, opts.now) : undefined;
  }

  get enabled(): boolean {
    return this.table !== undefined;
  }

  /** The live decision for `key` at `now` (the cache's clock; read from it unless given). */
  get(key: string, now?: number): Decision | undefined {
    return this.table?.get(this.digests.of(key), now);
  }

  set(key: string, d: Decision): void {
    if (this.table && isCacheable(d)) this.table.set(this.digests.of(key), d);
  }

  clear(): void {
    this.table?.clear();
  }

  get size(): number {
    return this.table?.size ?? 0;
  }
}
