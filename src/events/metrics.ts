/** Webhook delivery metrics, registered on an injected registry (never at import time). */
import { Counter, Gauge, type Registry } from 'prom-client';

export type DeliveryResult = 'delivered' | 'failed' | 'dead';

export interface WebhookMetrics {
  delivery(result: DeliveryResult): void;
}

/**
 * Registers `ascend_webhook_deliveries_total{result}` and `ascend_webhook_outbox_depth`. The depth
 * gauge asks the store at scrape time, so it is right after restarts and across processes.
 */
export function registerWebhookMetrics(registry: Registry, outboxDepth: () => Promise<number>): WebhookMetrics {
  const deliveries = new Counter({
    name: 'ascend_webhook_deliveries_total',
    help: 'Webhook delivery attempts by result: delivered, failed (will retry), dead (gave up).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const result of ['delivered', 'failed', 'dead'] as const) deliveries.inc({ result }, 0);
  new Gauge({
    name: 'ascend_webhook_outbox_depth',
    // Every process reads the same store: under `serve --workers` the cluster-wide value is any
    // one worker's, not their sum.
    aggregator: 'max',
    help: 'Webhook deliveries waiting in the durable outbox (pending, including retries).',
    registers: [registry],
    async collect() {
      // A failing store must not fail the whole scrape (every other metric would vanish with
      // it): keep the last value; the store's errors are logged and counted where they happen.
      try {
        this.set(await outboxDepth());
      } catch {
        /* keep the last value */
      }
    },
  });
  return { delivery: (result) => deliveries.inc({ result }) };
}
