/**
 * Enforces approval deadlines. The store is the source of truth: the scheduler keeps no list of
 * its own, only one timer armed for the earliest pending deadline the store reports. So it
 * survives restarts (start() first expires whatever fell due while the sidecar was down), and it
 * sees approvals another process created in a shared store at its next wake-up (at most
 * maxSleepMs away).
 */
import { Rounds } from '../shared/rounds.js';
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
  private readonly log: Logger;
  private readonly maxSleepMs: number;
  private readonly batchSize: number;
  private readonly rounds: Rounds;

  constructor(private readonly deps: SchedulerDeps, options: SchedulerOptions = {}) {
    this.now = deps.now ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.maxSleepMs = Math.min(options.maxSleepMs ?? 60_000, MAX_TIMER_MS);
    this.batchSize = options.batchSize ?? 100;
    this.rounds = new Rounds(deps.timers ?? systemTimers, () => this.pass());
  }

  /** Expire what is already due, then keep watching. Resolves after that first pass. */
  start(): Promise<void> {
    return this.rounds.start();
  }

  /** A deadline appeared or moved: look at the store again (coalesced with a pass in progress). */
  notify(): void {
    this.rounds.notify();
  }

  stop(): Promise<void> {
    return this.rounds.stop();
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

  /** One pass: expire what is due; returns how long to sleep until the next. */
  private async pass(): Promise<number> {
    try {
      await this.runDue();
      const next = await this.deps.store.nextApprovalDeadline();
      return next === undefined ? this.maxSleepMs : Math.min(this.maxSleepMs, Math.max(0, next - this.now()));
    } catch (err) {
      this.log.error({ err }, 'approval scheduler pass failed');
      return Math.min(this.maxSleepMs, 1000);
    }
  }
}
