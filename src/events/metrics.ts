/** Webhook delivery metrics, registered on an injected registry (never at import time). */
import { Counter, type Registry } from 'prom-client';
import { registerStoreGauge } from '../observability/store-gauge.js';

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
  registerStoreGauge(registry, 'ascend_webhook_outbox_depth', 'Webhook deliveries waiting in the durable outbox (pending, including retries).', outboxDepth);
  return { delivery: (result) => deliveries.inc({ result }) };
}
