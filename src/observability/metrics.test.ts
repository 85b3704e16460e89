import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

const value = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);

describe('Metrics (counted in plain arrays, handed to prom-client on read)', () => {
  it('reports each event once, however often /metrics is read', async () => {
    const registry = new Registry();
    const m = new Metrics(registry, () => 0, { defaultMetrics: false });
    m.decision('envoy', 'allowed', 0.0001);
    m.decision('envoy', 'allowed', 0.0002);
    m.decision('kong', 'denied', 0.002);
    m.cache(true);
    m.cache(false);
    let t = await registry.metrics();
    expect(value(t, 'ascend_authz_decisions_total{adapter="envoy",decision="allowed"}')).toBe(2);
    expect(value(t, 'ascend_authz_decisions_total{adapter="kong",decision="denied"}')).toBe(1);
    expect(value(t, 'ascend_authz_decisions_total{adapter="envoy",decision="pending"}')).toBe(0);
    expect(value(t, 'ascend_decision_cache_hits_total')).toBe(1);
    expect(value(t, 'ascend_decision_cache_misses_total')).toBe(1);
    m.decision('envoy', 'allowed', 0.0001);
    m.cache(true);
    await registry.metrics();
    t = await registry.metrics();
    expect(value(t, 'ascend_authz_decisions_total{adapter="envoy",decision="allowed"}')).toBe(3);
    expect(value(t, 'ascend_decision_cache_hits_total')).toBe(2);
    expect(value(t, 'ascend_decision_cache_misses_total')).toBe(1);
    expect(value(t, 'ascend_authz_check_duration_seconds_count{adapter="envoy"}')).toBe(3);
    expect(value(t, 'ascend_authz_check_duration_seconds_bucket{le="0.0001",adapter="envoy"}')).toBe(2);
    expect(value(t, 'ascend_authz_check_duration_seconds_count{adapter="kong"}')).toBe(1);
    expect(t).not.toContain('ascend_authz_check_duration_seconds_count{adapter="forward_auth"}'); // no series before a check
  });
});
