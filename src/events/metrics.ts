/** Webhook delivery metrics, registered on an injected registry (never at import time). */
import type { Registry } from 'prom-client';
import { registerOutcomeCounter } from '../observability/outcome-counter.js';
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
  const delivery = registerOutcomeCounter(registry, 'ascend_webhook_deliveries_total',
    'Webhook delivery attempts by result: delivered, failed (will retry), dead (gave up).', 'result', ['delivered', 'failed', 'dead'] as const);
  registerStoreGauge(registry, 'ascend_webhook_outbox_depth', 'Webhook deliveries waiting in the durable outbox (pending, including retries).', outboxDepth);
  return { delivery };
}
