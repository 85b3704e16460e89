/** A gauge read from the store at scrape time, so it is right after a restart and across processes. */
import { Gauge, type Registry } from 'prom-client';

export function registerStoreGauge(registry: Registry, name: string, help: string, read: () => Promise<number>): void {
  new Gauge({
    name,
    // Every process reads the same store: under `serve --workers` the cluster-wide value is any
    // one worker's, not their sum.
    aggregator: 'max',
    help,
    registers: [registry],
    async collect() {
      // A failing store must not fail the whole scrape (every other metric would vanish with
      // it): keep the last value; the store's errors are logged and counted where they happen.
      try {
        this.set(await read());
      } catch {
        /* keep the last value */
      }
    },
  });
}
