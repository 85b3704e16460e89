/**
 * Completions: what happened to an allowed action once the gateway proxied it (upstream
 * status, latencies), reported after the response (Kong plugin's log phase). Each one is a
 * `kind: "completion"` log line and a count in `ascend_action_completions_total{adapter}`;
 * `onCompletion` lets later parts (the approvals store, webhooks) persist or forward them
 * without touching the adapters.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AdapterName } from '../gateway/request.js';

export interface Completion {
  readonly actionId: string;
  readonly adapter: AdapterName;
  /** The status the client got; undefined when the gateway did not say. */
  readonly upstreamStatus: number | undefined;
  /** Milliseconds as the gateway measured them (Kong: request, proxy (-1: no upstream), kong). */
  readonly latenciesMs: Readonly<Record<string, number>> | undefined;
}

export type CompletionListener = (c: Completion) => void;

export class Completions {
  private readonly counter: Counter<'adapter'>;
  private readonly log: Logger;
  private readonly listeners: CompletionListener[] = [];

  constructor(registry: Registry, logger: Logger) {
    this.counter = new Counter({
      name: 'ascend_action_completions_total',
      help: 'Completions (upstream outcome of an allowed action) reported by gateways',
      labelNames: ['adapter'],
      registers: [registry],
    });
    this.log = logger.child({ kind: 'completion' });
  }

  /** Adds a listener; a listener that throws is logged and never affects the others. */
  onCompletion(listener: CompletionListener): void {
    this.listeners.push(listener);
  }

  record(c: Completion): void {
    this.counter.labels(c.adapter).inc();
    this.log.info(
      { action_id: c.actionId, adapter: c.adapter, upstream_status: c.upstreamStatus, latencies_ms: c.latenciesMs },
      'completion',
    );
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (err) {
        this.log.error({ err, action_id: c.actionId }, 'completion listener failed');
      }
    }
  }
}
