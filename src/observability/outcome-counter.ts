/** A counter with one label whose every value is exported from the start (at 0), so rates and alerts see it before the first event. */
import { Counter, type Registry } from 'prom-client';

/** Registers `name{label}` with each of `values` at 0; returns the increment. */
export function registerOutcomeCounter<V extends string>(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  values: readonly V[],
): (value: V) => void {
  const counter = new Counter({ name, help, labelNames: [label], registers: [registry] });
  for (const value of values) counter.inc({ [label]: value }, 0);
  return (value) => counter.inc({ [label]: value });
}
