/**
 * Prometheus metrics on an injected registry (nothing is registered at import time, so
 * tests and workers never share state). What every check records — its decision, its
 * duration, cache hit or miss — is counted in plain arrays and handed to prom-client when
 * /metrics is read: prom-client's inc() and observe() build a labels object and a hash string
 * per call.
 */
import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client';
import { ADAPTERS, type AdapterName } from '../gateway/request.js';
import type { DecisionKind } from '../core/decision.js';
import type { FailureCode } from '../core/errors.js';
import { FastHistogram, type HistogramChild } from './fast-histogram.js';
import { logLosses } from './fd-destination.js';

/** prom-client default gauges whose names end in _total (a counter's suffix). */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** Where audit rows are lost: the store's audit trail (AuditBuffer) or the SIEM stream. */
export type AuditSink = 'store' | 'stream';
/**
 * Why: `buffer_full` (the store kept failing until store.audit_buffer_rows were waiting),
 * `closed` (a row after shutdown began), `store_failed` (the last flush at shutdown failed),
 * `write_failed` (the SIEM stream's destination refused or failed the write).
 */
export type AuditDropReason = 'buffer_full' | 'closed' | 'store_failed' | 'write_failed';
const AUDIT_DROP_SERIES: readonly [AuditSink, AuditDropReason][] = [
  ['store', 'buffer_full'], ['store', 'closed'], ['store', 'store_failed'], ['stream', 'write_failed'],
];

/** Fine enough below a millisecond to see a 100 µs p99 move. */
export const CHECK_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

const KINDS = ['allowed', 'denied', 'pending'] as const satisfies readonly DecisionKind[];
const KIND_INDEX: Readonly<Record<DecisionKind, number>> = { allowed: 0, denied: 1, pending: 2 };
const ADAPTER_INDEX = Object.fromEntries(ADAPTERS.map((a, i) => [a, i])) as Readonly<Record<AdapterName, number>>;

/** Counts kept as plain numbers; `flush` adds what is new since the last read to prom-client. */
class PendingCounts {
  private readonly counts: Float64Array;
  private readonly reported: Float64Array;

  constructor(n: number) {
    this.counts = new Float64Array(n);
    this.reported = new Float64Array(n);
  }

  add(i: number): void {
    this.counts[i] = (this.counts[i] as number) + 1;
  }

  flush(report: (i: number, delta: number) => void): void {
    for (let i = 0; i < this.counts.length; i++) {
      const delta = (this.counts[i] as number) - (this.reported[i] as number);
      if (delta > 0) {
        report(i, delta);
        this.reported[i] = this.counts[i] as number;
      }
    }
  }
}

export class Metrics {
  private readonly decisions: Counter<'adapter' | 'decision'>;
  private readonly duration: FastHistogram;
  private readonly reloads: Counter<'result'>;
  private readonly failOpen: Counter<'adapter'>;
  private readonly errors: Counter<'adapter' | 'reason'>;
  private readonly flagged: Counter<'adapter'>;
  private readonly monitor: Counter<'would_be'>;
  private readonly ab: Counter<'test' | 'variant' | 'decision'>;
  private readonly auditDrops: Counter<'sink' | 'reason'>;
  private readonly reloadOk: Gauge;
  readonly configInfo: Gauge<'hash'>;
  readonly configTimestamp: Gauge;
  readonly policies: Gauge;
  readonly routes: Gauge;
  /** Per (adapter, decision kind): index adapter * 3 + kind. */
  private readonly decisionCounts = new PendingCounts(ADAPTERS.length * KINDS.length);
  /** Index 0 hits, 1 misses. */
  private readonly cacheCounts = new PendingCounts(2);
  /** Per adapter index, created on its first check (as prom-client shows a series). */
  private readonly durationChildren: (HistogramChild | undefined)[] = [];

  constructor(
    readonly registry: Registry,
    cacheSize: () => number,
    opts: { defaultMetrics?: boolean } = {},
  ) {
    const registers = [registry];
    const decisionCounts = this.decisionCounts;
    const cacheCounts = this.cacheCounts;
    this.decisions = new Counter({
      name: 'ascend_authz_decisions_total', help: 'Authorization decisions by entry point and outcome', labelNames: ['adapter', 'decision'], registers,
      collect() {
        decisionCounts.flush((i, n) => this.labels(ADAPTERS[Math.floor(i / KINDS.length)] as AdapterName, KINDS[i % KINDS.length] as DecisionKind).inc(n));
      },
    });
    this.duration = new FastHistogram('ascend_authz_check_duration_seconds', 'Time from request received to decision, in seconds', 'adapter', CHECK_BUCKETS, registers);
    // One flush for both counters: whichever is read first moves both counts.
    const flushCache = (): void => cacheCounts.flush((i, n) => (i === 0 ? cacheHits : cacheMisses).inc(n));
    const cacheHits = new Counter({ name: 'ascend_decision_cache_hits_total', help: 'Checks answered from the decision cache', registers, collect: flushCache });
    const cacheMisses = new Counter({ name: 'ascend_decision_cache_misses_total', help: 'Checks that had to be evaluated', registers, collect: flushCache });
    new Gauge({ name: 'ascend_decision_cache_entries', help: 'Decisions currently cached', registers, collect() { this.set(cacheSize()); } });
    this.reloads = new Counter({ name: 'ascend_policy_reloads_total', help: 'Config (policy) loads by result', labelNames: ['result'], registers });
    this.failOpen = new Counter({ name: 'ascend_fail_open_total', help: 'Requests allowed only because evaluation failed under fail_mode open', labelNames: ['adapter'], registers });
    this.errors = new Counter({ name: 'ascend_authz_errors_total', help: 'Checks that could not be evaluated normally, by reason code', labelNames: ['adapter', 'reason'], registers });
    this.flagged = new Counter({ name: 'ascend_flagged_total', help: 'Allowed requests flagged for review', labelNames: ['adapter'], registers });
    this.monitor = new Counter({ name: 'ascend_monitor_overrides_total', help: 'Requests whose outcome monitor mode changed, by what enforcement would have done', labelNames: ['would_be'], registers });
    this.ab = new Counter({ name: 'ascend_ab_decisions_total', help: 'Decisions of requests in a running A/B test, by test, variant and outcome', labelNames: ['test', 'variant', 'decision'], registers });
    // Under --workers the primary aggregates workers' series: the `aggregator` says how.
    this.reloadOk = new Gauge({ name: 'ascend_config_last_reload_successful', help: '1 if the last config load succeeded, 0 if it failed (the previous config is still serving)', registers, aggregator: 'min' });
    this.configInfo = new Gauge({ name: 'ascend_config_info', help: 'The loaded config; value is its version number', labelNames: ['hash'], registers, aggregator: 'max' });
    this.configTimestamp = new Gauge({ name: 'ascend_config_last_reload_success_timestamp_seconds', help: 'When the current config was loaded', registers, aggregator: 'min' });
    this.policies = new Gauge({ name: 'ascend_policies', help: 'Enabled policies in the loaded config', registers, aggregator: 'max' });
    this.routes = new Gauge({ name: 'ascend_routes', help: 'Routes in the loaded config', registers, aggregator: 'max' });
    this.auditDrops = new Counter({
      name: 'ascend_audit_dropped_total', help: 'Audit rows lost, by where (store: the audit table; stream: the SIEM stream) and why', labelNames: ['sink', 'reason'], registers,
    });
    new Counter({
      name: 'ascend_log_dropped_bytes_total', help: 'Log bytes (decision log, SIEM stream, logger) lost because the destination refused them or its backlog was full', registers,
      collect() { this.reset(); this.inc(logLosses.droppedBytes); },
    });
    this.zeroSeries();
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
      // prom-client names three gauges `*_total`, which Prometheus reserves for counters
      // (`promtool check metrics` fails on them). The same counts stay available, by type,
      // as nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
      for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
    }
  }

  /**
   * Creates the known series at 0, so rate() and increase() see the first event (a series that
   * appears already at 1 looks like no change).
   */
  private zeroSeries(): void {
    for (const adapter of ADAPTERS) {
      if (adapter === 'cli') continue;
      for (const decision of ['allowed', 'denied', 'pending'] as const) this.decisions.labels(adapter, decision).inc(0);
      this.failOpen.labels(adapter).inc(0);
      this.errors.labels(adapter, 'evaluation_error').inc(0);
      this.flagged.labels(adapter).inc(0);
    }
    for (const result of ['success', 'failure'] as const) this.reloads.labels(result).inc(0);
    for (const wouldBe of ['denied', 'pending'] as const) this.monitor.labels(wouldBe).inc(0);
    for (const [sink, reason] of AUDIT_DROP_SERIES) this.auditDrops.labels(sink, reason).inc(0);
  }

  /** `traceId`: the check's sampled trace, kept as the exemplar of the duration's bucket (tracing on). */
  decision(adapter: AdapterName, kind: DecisionKind, seconds: number, traceId?: string): void {
    const a = ADAPTER_INDEX[adapter];
    this.decisionCounts.add(a * KINDS.length + KIND_INDEX[kind]);
    const child = (this.durationChildren[a] ??= this.duration.labels(adapter));
    if (traceId === undefined) child.observe(seconds);
    else child.observeWithExemplar(seconds, traceId);
  }

  /** The check-duration buckets' exemplars (observability/openmetrics.ts). */
  durationExemplars(): Map<string, string> {
    return this.duration.exemplars();
  }

  cache(hit: boolean): void {
    this.cacheCounts.add(hit ? 0 : 1);
  }

  reload(result: 'success' | 'failure'): void {
    this.reloads.labels(result).inc();
    this.reloadOk.set(result === 'success' ? 1 : 0);
  }

  error(adapter: AdapterName, reason: FailureCode): void {
    this.errors.labels(adapter, reason).inc();
  }

  failedOpen(adapter: AdapterName): void {
    this.failOpen.labels(adapter).inc();
  }

  flag(adapter: AdapterName): void {
    this.flagged.labels(adapter).inc();
  }

  abDecision(test: string, variant: string, decision: DecisionKind): void {
    this.ab.labels(test, variant, decision).inc();
  }

  monitorOverride(wouldBe: DecisionKind): void {
    this.monitor.labels(wouldBe).inc();
  }

  auditDropped(sink: AuditSink, reason: AuditDropReason, rows: number): void {
    this.auditDrops.labels(sink, reason).inc(rows);
  }
}
