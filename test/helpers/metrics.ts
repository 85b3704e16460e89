/** Metric helpers (a scrape over HTTP, or a registry read) and condition waits (no fixed sleeps). */
import type { Registry } from 'prom-client';
import { sample } from './http.js';

export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

/** The /metrics text of a sidecar on this machine, by its HTTP port. */
export const metricsOf = (port: number): Promise<string> => scrape(`http://127.0.0.1:${port}/metrics`);

/** Decisions a sidecar took for actions submitted to its REST API (adapter `api`): a control plane's upstream calls. */
export async function apiDecisions(port: number): Promise<number> {
  const m = await metricsOf(port);
  return (['allowed', 'denied', 'pending'] as const).reduce((n, d) => n + (sample(m, 'ascend_authz_decisions_total', { adapter: 'api', decision: d }) ?? 0), 0);
}

/** Value of one sample, `name` including its label set as printed; 0 when absent. */
export function metricValue(text: string, name: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return 0;
}

/** Value of one series in a registry (undefined if absent); runs async collect() like a scrape. */
export async function registryValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value;
}

/** Polls `cond` until it holds or `timeoutMs` passes (then throws). */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
