/**
 * A replica's memo of live `ttl` grants, so that retrying an action approved with a ttl grant
 * takes no store round trip (issue 16: a check that needs a grant lookup has p99 ≤ 2 ms at
 * 1,000 req/s on PostgreSQL, where each lookup was a statement).
 *
 * What is kept: per fingerprint, the approval a store lookup answered "allowed" with, when its
 * grant is `ttl` and its use is already recorded (`grant_used_at` set by the first use, which
 * always goes to the store). From then on the store's answer to that fingerprint is a plain read
 * that writes nothing, and it stays the same until the approval changes, a newer approval for
 * the fingerprint appears, or the grant expires. A `single_use` grant is never kept: each use is
 * the store's conditional write, exactly once across the fleet.
 *
 * When an entry goes:
 * - at its grant's `grant_expires_at` (the store's own rule: usable while now < expires_at);
 * - on the fleet's notifications (store/postgres/fleet.ts), sent at commit by any replica: an
 *   `action` change of its action (a transition of its approval), a `deadline` for its
 *   fingerprint (a new approval for it), any `agents` change (kill switch, registry); each of
 *   those with no id — a reconnect, an older build — drops every entry;
 * - on this process's own writes of its approval or fingerprint (the fleet skips our own
 *   notifications), through {@link forgetFingerprint} and {@link forgetAction};
 * - at the latest MAX_AGE_MS after the read that filled it: a bound that holds even if a
 *   notification is lost without the connection being seen to fail.
 * While notifications are not arriving (`live` false) nothing is served or kept. A read that was
 * in flight when a notification came is not kept (the generation moved): it may predate the
 * change.
 *
 * Given a registry, the memo counts its lookups ({@link GrantMemo.get}) in
 * `ascend_grant_memo_total{outcome}` and shows its size in `ascend_grant_memo_entries`.
 */
import type { Registry } from 'prom-client';
import { registerGrantMemoMetrics, type GrantMemoMetrics } from './metrics.js';
import type { ApprovalRecord } from './store/records.js';

/** The replica's notification feed: {@link Fleet} is one. */
export interface GrantFeed {
  /** Whether notifications are arriving. */
  readonly live: boolean;
  subscribe(fn: (e: { readonly kind: string; readonly id: string }) => void): () => void;
}

/** The longest an entry is served after the read that filled it (issue 16: a change on one replica applies on all within 1 s). */
export const MAX_AGE_MS = 1000;
/** Fingerprints kept at most; the oldest go first. */
export const MAX_ENTRIES = 10_000;

interface Entry {
  readonly approval: ApprovalRecord;
  /** Served while now < until. */
  readonly until: number;
}

/** A read's claim to fill the memo: the generation when it started. */
export type GrantTicket = number | undefined;

export interface GrantMemoOptions {
  /** Default MAX_AGE_MS. */
  readonly maxAgeMs?: number;
  /** Default MAX_ENTRIES. */
  readonly maxEntries?: number;
  /** Where the memo's metrics go (none without one). */
  readonly registry?: Registry;
}

export class GrantMemo {
  private readonly byFingerprint = new Map<string, Entry>();
  private readonly fingerprintOf = new Map<string, string>();
  private generation = 0;
  private readonly metrics: GrantMemoMetrics | undefined;

  constructor(private readonly feed: GrantFeed, private readonly opts: GrantMemoOptions = {}) {
    this.metrics = opts.registry === undefined ? undefined : registerGrantMemoMetrics(opts.registry, () => this.size);
  }

  /** Starts hearing the feed; returns the unsubscribe. */
  start(): () => void {
    return this.feed.subscribe((e) => {
      if (e.kind === 'action') this.forgetAction(e.id);
      else if (e.kind === 'deadline') this.forgetFingerprint(e.id);
      else if (e.kind === 'agents') this.forgetAll();
    });
  }

  get size(): number {
    return this.byFingerprint.size;
  }

  /** The lookup of a `require_approval` check: the kept approval that allows this fingerprint at `now`, if any; counted as a hit or a miss. */
  get(fingerprint: string, now: number): ApprovalRecord | undefined {
    const kept = this.lookup(fingerprint, now);
    this.metrics?.lookup(kept === undefined ? 'miss' : 'hit');
    return kept;
  }

  /** What {@link get} answers, not counted (a test's or an operator's look). */
  peek(fingerprint: string, now: number): ApprovalRecord | undefined {
    return this.lookup(fingerprint, now);
  }

  /** Take before the store read whose answer may be kept. */
  ticket(): GrantTicket {
    return this.feed.live ? this.generation : undefined;
  }

  /** Keeps `approval` (the store's "allowed" answer read at `now`) if it is a used, unexpired ttl grant and nothing changed since the ticket. */
  keep(fingerprint: string, approval: ApprovalRecord, ticket: GrantTicket, now: number): void {
    if (ticket === undefined || ticket !== this.generation || !this.feed.live) return;
    if (approval.state !== 'approved' || approval.grant !== 'ttl' || approval.grant_used_at === null) return;
    const until = Math.min(now + (this.opts.maxAgeMs ?? MAX_AGE_MS), approval.grant_expires_at ?? Infinity);
    if (now >= until) return;
    this.remove(fingerprint);
    if (this.byFingerprint.size >= (this.opts.maxEntries ?? MAX_ENTRIES)) {
      const oldest = this.byFingerprint.keys().next();
      if (!oldest.done) this.remove(oldest.value);
    }
    this.byFingerprint.set(fingerprint, { approval, until });
    this.fingerprintOf.set(approval.action_id, fingerprint);
  }

  /** A new approval for the fingerprint, or a change to its approvals; '' for any. */
  forgetFingerprint(fingerprint: string): void {
    this.generation++;
    if (fingerprint === '') this.forgetAll();
    else this.remove(fingerprint);
  }

  /** A change to the action (its approval); '' for any. */
  forgetAction(actionId: string): void {
    this.generation++;
    if (actionId === '') return this.forgetAll();
    const fingerprint = this.fingerprintOf.get(actionId);
    if (fingerprint !== undefined) this.remove(fingerprint);
  }

  forgetAll(): void {
    this.generation++;
    this.byFingerprint.clear();
    this.fingerprintOf.clear();
  }

  private lookup(fingerprint: string, now: number): ApprovalRecord | undefined {
    const e = this.byFingerprint.get(fingerprint);
    if (e === undefined) return undefined;
    if (this.feed.live && now < e.until) return e.approval;
    this.remove(fingerprint);
    return undefined;
  }

  private remove(fingerprint: string): void {
    const e = this.byFingerprint.get(fingerprint);
    if (e === undefined) return;
    this.byFingerprint.delete(fingerprint);
    this.fingerprintOf.delete(e.approval.action_id);
  }
}
