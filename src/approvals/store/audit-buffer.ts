/**
 * Keeps the audit trail off the hot path: `push` is synchronous and O(1); rows are written in
 * one transaction per batch, when `maxBatch` rows have gathered or `flushIntervalMs` after the
 * first unflushed row, whichever comes first. The timer is armed only while rows wait, so an
 * idle sidecar does not wake up.
 *
 * Trade-off, stated plainly: rows still in the buffer (at most flushIntervalMs of decisions) are
 * lost on kill -9. Approvals and webhooks are not buffered; they commit before the caller answers.
 * If the store fails, rows are kept and retried; beyond maxBuffered the oldest are dropped and
 * counted rather than letting memory grow without bound. Every lost row is reported to `onDrop`
 * with why (`ascend_audit_dropped_total{sink="store"}`): pushed after close, buffer full, or
 * still unwritten when the last flush at close failed.
 */
import { silentLogger, systemTimers, type Logger, type Timers } from '../../shared/runtime.js';
import type { AuditRecord } from './records.js';
import type { AuditStore } from './store.js';

export interface AuditBufferOptions {
  /** Default 100. */
  readonly flushIntervalMs?: number;
  /** Rows that trigger an immediate flush, and the most written per transaction. Default 500. */
  readonly maxBatch?: number;
  /** Rows kept while the store is failing before the oldest are dropped. Default 100000. */
  readonly maxBuffered?: number;
}

export interface AuditBufferDeps {
  readonly store: Pick<AuditStore, 'appendAudit'>;
  readonly timers?: Timers;
  readonly log?: Logger;
  /** Told how many rows were dropped, and why (wire to a counter). */
  readonly onDrop?: (rows: number, reason: AuditDropReason) => void;
}

export type AuditDropReason = 'buffer_full' | 'closed' | 'store_failed';

export class AuditBuffer {
  private rows: AuditRecord[] = [];
  private timer: unknown;
  private flushing: Promise<void> = Promise.resolve();
  private readonly interval: number;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private readonly timers: Timers;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly deps: AuditBufferDeps, options: AuditBufferOptions = {}) {
    this.interval = options.flushIntervalMs ?? 100;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxBuffered = options.maxBuffered ?? 100_000;
    this.timers = deps.timers ?? systemTimers;
    this.log = deps.log ?? silentLogger;
  }

  /** Rows waiting to be written. */
  get pending(): number {
    return this.rows.length;
  }

  /** Queue one decision. Never throws, never waits. */
  push(row: AuditRecord): void {
    if (this.closed) { this.drop(1, 'closed'); return; }
    this.rows.push(row);
    this.trim();
    if (this.rows.length >= this.maxBatch) void this.flush();
    else if (this.timer === undefined) this.timer = this.timers.setTimeout(() => void this.flush(), this.interval);
  }

  /** Write everything buffered so far; resolves when it is in the store (or failed and re-queued). */
  flush(): Promise<void> {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(() => this.writeAll());
    return this.flushing;
  }

  /** Flush and refuse further rows. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async writeAll(): Promise<void> {
    while (this.rows.length > 0) {
      const batch = this.rows.splice(0, this.maxBatch);
      try {
        await this.deps.store.appendAudit(batch);
      } catch (err) {
        this.rows.unshift(...batch);
        if (this.closed) {
          // The last flush: nothing will retry these; all are lost to the store's failure.
          this.log.error({ err, rows: this.rows.length }, 'audit flush at close failed');
          this.drop(this.rows.splice(0).length, 'store_failed');
          return;
        }
        // Back in front, in order; rows pushed while it was out may now be too many: the
        // oldest go, as if the batch had never left (the bound holds after every failure).
        this.trim();
        this.log.error({ err, rows: this.rows.length }, 'audit flush failed; will retry');
        if (this.timer === undefined) this.timer = this.timers.setTimeout(() => void this.flush(), this.interval);
        return;
      }
    }
  }

  /** Drops the oldest rows beyond maxBuffered. */
  private trim(): void {
    const excess = this.rows.length - this.maxBuffered;
    if (excess <= 0) return;
    this.rows.splice(0, excess);
    this.drop(excess, 'buffer_full');
  }

  private drop(n: number, reason: AuditDropReason): void {
    this.deps.onDrop?.(n, reason);
    this.log.warn({ dropped: n, reason }, 'audit rows dropped');
  }
}
