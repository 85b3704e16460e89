import fc from 'fast-check';
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from './fast-histogram.js';
import { CHECK_BUCKETS } from './metrics.js';

const NAME = 'ascend_authz_check_duration_seconds';

/** The same observations through prom-client's Histogram and through ours. */
async function both(observations: [string, number][]) {
  const ref = new Registry();
  const ours = new Registry();
  const h = new Histogram({ name: NAME, help: 'h', labelNames: ['adapter'], buckets: CHECK_BUCKETS, registers: [ref] });
  const f = new FastHistogram(NAME, 'h', 'adapter', CHECK_BUCKETS, [ours]);
  for (const [a, v] of observations) {
    h.labels(a).observe(v);
    f.labels(a).observe(v);
  }
  return { ref, ours };
}

/** prom-client's JSON carries `exemplar: null|undefined` per value; we have no exemplars. */
function withoutExemplars<T>(json: T): T {
  return JSON.parse(JSON.stringify(json, (k, v: unknown) => (k === 'exemplar' ? undefined : v))) as T;
}

describe('FastHistogram', () => {
  it('prints and exports exactly what prom-client prints for the same observations', async () => {
    const obs = fc.array(fc.tuple(fc.constantFrom('envoy', 'kong', 'forward_auth'), fc.oneof(fc.constantFrom(...CHECK_BUCKETS), fc.double({ min: 0, max: 3, noNaN: true }))), { minLength: 1, maxLength: 200 });
    await fc.assert(
      fc.asyncProperty(obs, async (o) => {
        const { ref, ours } = await both(o);
        expect(await ours.metrics()).toBe(await ref.metrics());
        expect(await ours.getMetricsAsJSON()).toEqual(withoutExemplars(await ref.getMetricsAsJSON()));
      }),
      { numRuns: 100 },
    );
  });

  it('sums across workers like prom-client histograms do (the --workers aggregator)', async () => {
    const a = await both([['envoy', 0.0002], ['envoy', 0.3]]);
    const b = await both([['envoy', 0.0002], ['kong', 7]]);
    const agg = (x: Registry, y: Registry) => Promise.all([x.getMetricsAsJSON(), y.getMetricsAsJSON()]).then((j) => AggregatorRegistry.aggregate(j).metrics());
    expect(await agg(a.ours, b.ours)).toBe(await agg(a.ref, b.ref));
  });

  it('reset zeroes every series', async () => {
    const { ours } = await both([['envoy', 0.001]]);
    ours.resetMetrics();
    expect(await ours.metrics()).toContain(`${NAME}_count{adapter="envoy"} 0`);
  });
});
