/**
 * Every store call of the sidecar, measured and guarded: `ascend_store_latency_seconds{op}` and
 * `ascend_store_errors_total{op}`, and a breaker for an unreachable store.
 *
 * When a call fails because the store cannot be reached (connection refused or lost, a timeout,
 * the server shutting down, a statement cancelled by statement_timeout), the store is
 * `degraded`: calls fail at once with `store_unavailable` — answered per fail_mode by the
 * pipeline, well inside the caller's deadline, instead of each waiting for its own connect
 * timeout — until the retry time, when the next call goes through as a probe. The retry time
 * backs off from 250 ms, doubling to 5 s; the first call that succeeds makes it `ok` again. The
 * registry's one-second revision poll is such a call, so a store recovers without traffic and
 * without a restart. Checks that need no store (cached or plain allow/deny, the kill switch
 * held in memory) never notice.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../shared/runtime.js';
import { StoreError } from './errors.js';
import type { Store } from './store.js';

export type StoreHealthState = 'ok' | 'degraded';

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Node socket errors, PostgreSQL's connection (08) and operator-intervention (57) classes, timeouts. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreError) return err.code === 'store_unavailable';
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (/^E[A-Z]+$/.test(code) || code.startsWith('08') || code.startsWith('57'))) return true;
  const message = err instanceof Error ? err.message : String(err);
  return /Connection terminated|timeout|timed out|ECONN|Client has encountered a connection error|not queryable/i.test(message);
}

export class StoreHealth {
  private degradedSince: number | undefined;
  private retryAt = 0;
  private backoff = BACKOFF_MIN_MS;

  constructor(private readonly log: Logger, private readonly now: () => number = Date.now) {}

  get state(): StoreHealthState {
    return this.degradedSince === undefined ? 'ok' : 'degraded';
  }

  /** Whether a call may go to the store now (ok, or degraded and due for a probe). */
  admit(): boolean {
    if (this.degradedSince === undefined) return true;
    const now = this.now();
    if (now < this.retryAt) return false;
    this.retryAt = now + this.backoff; // one probe per backoff period
    return true;
  }

  succeeded(): void {
    if (this.degradedSince === undefined) return;
    this.log.info({ degraded_ms: this.now() - this.degradedSince }, 'store reachable again');
    this.degradedSince = undefined;
    this.backoff = BACKOFF_MIN_MS;
  }

  failed(err: unknown): void {
    if (!isUnavailable(err)) return;
    const now = this.now();
    if (this.degradedSince === undefined) {
      this.degradedSince = now;
      this.log.error({ err }, 'store unreachable; answering per fail_mode and retrying with backoff');
    } else {
      this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    }
    this.retryAt = now + this.backoff;
  }
}

export interface GuardedStore {
  readonly store: Store;
  readonly health: StoreHealth;
}

/** Wraps every method of `store` but close (which always goes through). */
export function guardStore(store: Store, opts: { registry?: Registry; log?: Logger; now?: () => number } = {}): GuardedStore {
  const health = new StoreHealth(opts.log ?? silentLogger, opts.now);
  const registers = opts.registry ? [opts.registry] : [];
  const errors = new Counter({ name: 'ascend_store_errors_total', help: 'Store calls that failed, by operation (including those refused at once while the store is unreachable)', labelNames: ['op'], registers });
  const latency = new Histogram({ name: 'ascend_store_latency_seconds', help: 'Duration of store calls that reached the store, by operation, in seconds', labelNames: ['op'], buckets: BUCKETS, registers });
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'close' || typeof prop !== 'string') return value;
      const method = value as (...a: unknown[]) => Promise<unknown>;
      return (...args: unknown[]): Promise<unknown> => {
        if (!health.admit()) {
          errors.inc({ op: prop });
          return Promise.reject(new StoreError('store_unavailable', 'store unreachable; retrying with backoff'));
        }
        const stop = latency.startTimer({ op: prop });
        return method.apply(target, args).then(
          (v) => { stop(); health.succeeded(); return v; },
          (err: unknown) => { stop(); errors.inc({ op: prop }); health.failed(err); throw err; },
        );
      };
    },
  });
  return { store: wrapped, health };
}
