/**
 * Login attempts per client address: a fixed number per window, so guessing API keys through
 * the login form is as slow as the limit says (keys are 256-bit, but a weak configured key
 * should not be brute-forced either). Failed and successful attempts both count. The table is
 * bounded: past `maxClients` addresses the oldest window is forgotten first.
 */
export interface LoginLimitOptions {
  readonly attempts: number;
  readonly windowMs: number;
  readonly maxClients?: number;
}

export class LoginLimit {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly opts: LoginLimitOptions, private readonly now: () => number) {}

  /** Takes an attempt for `client`; the seconds to wait when none is left. */
  take(client: string): { ok: true } | { ok: false; retryAfter: number } {
    const t = this.now();
    let w = this.windows.get(client);
    if (!w || t - w.start >= this.opts.windowMs) {
      this.windows.delete(client);
      w = { start: t, count: 0 };
      this.windows.set(client, w);
      if (this.windows.size > (this.opts.maxClients ?? 10_000)) {
        const oldest = this.windows.keys().next().value as string;
        this.windows.delete(oldest);
      }
    }
    if (w.count >= this.opts.attempts) return { ok: false, retryAfter: Math.max(1, Math.ceil((w.start + this.opts.windowMs - t) / 1000)) };
    w.count++;
    return { ok: true };
  }
}
