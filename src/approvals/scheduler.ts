/**
 * Enforces approval deadlines. The store is the source of truth: the scheduler keeps no list of
 * its own, only one timer armed for the earliest pending deadline the store reports. So it
 * survives restarts (start() first expires whatever fell due while the sidecar was down), and it
 * sees approvals another process created in a shared store at its next wake-up (at most
 * maxSleepMs away).
 */
import { MAX_TIMER_MS, silentLogger, systemClock, systemTimers, type Clock, type Logger, type Timers } from '../shared/runtime.js';
import type { ApprovalRecord } from './store/records.js';
import type { ApprovalStore } from './store/store.js';

export interface SchedulerDeps {
  readonly store: Pick<ApprovalStore, 'listDueApprovals' | 'nextApprovalDeadline'>;
  /** Apply the timeout of one approval (ApprovalService.expire). */
  readonly expire: (approvalId: string) => Promise<ApprovalRecord | undefined>;
  readonly now?: Clock;
  readonly timers?: Timers;
  readonly log?: Logger;
}

export interface SchedulerOptions {
  /** Longest sleep between looks at the store. Default 60000. */
  readonly maxSleepMs?: number;
  /** Due approvals handled per store query. Default 100. */
  readonly batchSize?: number;
}

export class ApprovalScheduler {
  private readonly now: Clock;
  private readonly timers: Timers;
  private readonly log: Logger;
  private readonly maxSleepMs: number;
  private readonly batchSize: number;
  private timer: unknown;
  private started = false;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly deps: SchedulerDeps, options: SchedulerOptions = {}) {
    this.now = deps.now ?? systemClock;
    this.timers = deps.timers ?? systemTimers;
    this.log = deps.log ?? silentLogger;
    this.maxSleepMs = Math.min(options.maxSleepMs ?? 60_000, MAX_TIMER_MS);
    this.batchSize = options.batchSize ?? 100;
  }

  /** Expire what is already due, then keep watching. Resolves after that first pass. */
  async start(): Promise<void> {
    this.started = true;
    this.notify();
    await this.running;
  }

  /** A deadline appeared or moved: look at the store again (coalesced with a pass in progress). */
  notify(): void {
    if (!this.started) return;
    if (this.running) { this.again = true; return; }
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.pass().finally(() => {
      this.running = undefined;
      // A notify that arrived while this pass ran may concern a deadline it did not see.
      if (this.again) { this.again = false; this.notify(); }
    });
  }

  async stop(): Promise<void> {
    this.started = false;
    this.timers.clearTimeout(this.timer);
    await this.running;
  }

  /** Expire every approval due now; returns how many were handled. */
  async runDue(): Promise<number> {
    let handled = 0;
    const seen = new Set<string>();
    for (;;) {
      const due = (await this.deps.store.listDueApprovals(this.now(), this.batchSize)).filter((a) => !seen.has(a.approval_id));
      for (const a of due) {
        seen.add(a.approval_id);
        try {
          await this.deps.expire(a.approval_id);
        } catch (err) {
          this.log.error({ err, approval_id: a.approval_id }, 'approval timeout failed');
          return handled; // do not spin on a failing row; the next pass retries it
        }
        handled++;
      }
      // A short batch was the last one; a batch of only already-seen rows made no progress.
      if (due.length < this.batchSize) return handled;
    }
  }

  private async pass(): Promise<void> {
    let delay = this.maxSleepMs;
    try {
      await this.runDue();
      const next = await this.deps.store.nextApprovalDeadline();
      if (next !== undefined) delay = Math.min(this.maxSleepMs, Math.max(0, next - this.now()));
    } catch (err) {
      this.log.error({ err }, 'approval scheduler pass failed');
      delay = Math.min(this.maxSleepMs, 1000);
    }
    if (this.started) this.timer = this.timers.setTimeout(() => this.notify(), delay);
  }
}
