/** Metrics hooks: nothing on the global registry, everything on the one injected. */
import { Registry, register } from 'prom-client';
import { describe, expect, it } from 'vitest';

describe('metrics hooks', () => {
  it('register nothing at import time and everything on the injected registry', async () => {
    const modules = await Promise.all([
      import('../approvals/metrics.js'), import('../events/metrics.js'), import('../approvals/service.js'),
      import('../approvals/scheduler.js'), import('../events/delivery.js'), import('../approvals/store/sqlite/sqlite-store.js'),
    ]);
    expect(register.getMetricsAsArray()).toEqual([]);
    const [approvals, webhooks] = modules;
    // Two registries side by side (as two apps in one test process) must not collide.
    for (const registry of [new Registry(), new Registry()]) {
      const a = approvals.registerApprovalMetrics(registry, async () => 3);
      const w = webhooks.registerWebhookMetrics(registry, async () => 7);
      a.decided('approved');
      w.delivery('dead');
      const text = await registry.metrics();
      expect(text).toContain('ascend_approvals_pending 3');
      expect(text).toContain('ascend_approvals_total{result="approved"} 1');
      expect(text).toContain('ascend_approvals_total{result="denied"} 0');
      expect(text).toContain('ascend_webhook_outbox_depth 7');
      expect(text).toContain('ascend_webhook_deliveries_total{result="dead"} 1');
      expect(text).toContain('ascend_webhook_deliveries_total{result="delivered"} 0');
    }
    expect(register.getMetricsAsArray()).toEqual([]);
  });
});
