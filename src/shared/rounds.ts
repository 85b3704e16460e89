/**
 * Background work in rounds, one at a time (the approval scheduler, the webhook outbox).
 * notify() starts a round now; during a round it asks for one more right after it, because what
 * prompted it may be what that round did not see. Between rounds a timer calls notify() after
 * the delay the round returns. stop() ends the timer and waits for the round in flight.
 */
import type { Timers } from './runtime.js';

export class Rounds {
  private timer: unknown;
  private started = false;
  private running: Promise<void> | undefined;
  private again = false;

  /** `round` does one round's work and returns the ms until the next (it must not throw). */
  constructor(private readonly timers: Timers, private readonly round: () => Promise<number>) {}

  /** Between start() and stop(). */
  get active(): boolean {
    return this.started;
  }

  /** Whether a notify() arrived since the current round began (or since the last ask); clears it. */
  takeAgain(): boolean {
    const again = this.again;
    this.again = false;
    return again;
  }

  /** Starts the first round; resolves when it ends. */
  start(): Promise<void> {
    this.started = true;
    this.notify();
    return this.running ?? Promise.resolve();
  }

  notify(): void {
    if (!this.started) return;
    if (this.running) { this.again = true; return; }
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.takeAgain()) this.notify();
    });
  }

  async stop(): Promise<void> {
    this.started = false;
    this.timers.clearTimeout(this.timer);
    await this.running;
  }

  private async run(): Promise<void> {
    const delay = await this.round();
    if (this.started) this.timer = this.timers.setTimeout(() => this.notify(), delay);
  }
}
