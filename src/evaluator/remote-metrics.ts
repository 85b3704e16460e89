/**
 * The remote evaluator's metrics (evaluator.mode remote). Registered on every sidecar, so a
 * dashboard shows zeros rather than gaps on a sidecar that decides locally.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * How one upstream call ended: ok, timeout (no answer within its budget: a blackholed or slow
 * control plane), error (refused, reset, unreachable), status_5xx, status_4xx (401/403: the key;
 * 400/422: the action refused), invalid_answer (not a decision), circuit_open (no call made).
 */
export type RemoteOutcome = 'ok' | 'timeout' | 'error' | 'status_5xx' | 'status_4xx' | 'invalid_answer' | 'circuit_open';
const OUTCOMES: readonly RemoteOutcome[] = ['ok', 'timeout', 'error', 'status_5xx', 'status_4xx', 'invalid_answer', 'circuit_open'];

/** The gauge's values: 0 closed, 1 half-open, 2 open (so `> 0` is "not healthy", `max` the worst). */
/** The circuit breaker's states (remote.ts CircuitBreaker). */
export type BreakerState = 'closed' | 'half_open' | 'open';

const STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

/** Loopback calls take a few hundred microseconds; a remote one tens of milliseconds. */
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class RemoteMetrics {
  private readonly requests: Counter<'outcome'>;
  private readonly latencySeconds: Histogram;
  private readonly coalescedTotal: Counter;
  private readonly circuitState: Gauge;
  private readonly stale: Counter;
  private readonly retries: Counter;
  /** The counter's children, bound once (labels() hashes its arguments on every call). */
  private readonly byOutcome: ReadonlyMap<RemoteOutcome, { inc(): void }>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'ascend_remote_requests_total', help: 'Calls to the control plane (evaluator.mode remote) by outcome; circuit_open counts the calls the open breaker did not make', labelNames: ['outcome'], registers });
    this.latencySeconds = new Histogram({ name: 'ascend_remote_latency_seconds', help: 'Duration of calls to the control plane, answered or not, in seconds', buckets: BUCKETS, registers });
    this.coalescedTotal = new Counter({ name: 'ascend_remote_coalesced_total', help: 'Cache misses that joined an identical call already in flight instead of making their own', registers });
    this.circuitState = new Gauge({ name: 'ascend_remote_circuit_state', help: "The control plane circuit breaker: 0 closed, 1 half-open, 2 open", registers, aggregator: 'max' });
    this.stale = new Counter({ name: 'ascend_remote_stale_served_total', help: 'Expired control plane answers served again (x-ascend-stale: true) because the control plane could not answer', registers });
    this.retries = new Counter({ name: 'ascend_remote_retries_total', help: 'Requests to the control plane sent again, once, on a new connection: the reused keep-alive connection closed before any byte of the answer (the server closing it for idleness as the request was written)', registers });
    for (const o of OUTCOMES) this.requests.labels(o).inc(0);
    this.byOutcome = new Map(OUTCOMES.map((o) => [o, this.requests.labels(o)]));
  }

  request(outcome: RemoteOutcome): void {
    this.byOutcome.get(outcome)?.inc();
  }

  latency(seconds: number): void {
    this.latencySeconds.observe(seconds);
  }

  coalesced(): void {
    this.coalescedTotal.inc();
  }

  circuit(state: BreakerState): void {
    this.circuitState.set(STATE_VALUE[state]);
  }

  staleServed(): void {
    this.stale.inc();
  }

  retried(): void {
    this.retries.inc();
  }
}
