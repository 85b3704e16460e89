/**
 * A one-label Prometheus histogram whose observe() is a bucket search and three additions.
 * prom-client's Histogram builds a labels object, a hash string and validates labels on every
 * observe (about 1 % of a cached check's CPU, and garbage); here each label value's child is
 * resolved once and keeps plain typed arrays. It registers as a prom-client metric (get() in
 * prom-client's format), so /metrics, the registry's merge and the --workers aggregator treat
 * it as they treat their own histograms.
 */
import type { Registry } from 'prom-client';

export interface HistogramChild {
  observe(value: number): void;
  /** observe(), keeping `traceId` as the bucket's exemplar (the latest one wins; OpenMetrics only). */
  observeWithExemplar(value: number, traceId: string): void;
}

/** An OpenMetrics exemplar: the trace of one observation in a bucket. */
interface Exemplar {
  labelSet: { trace_id: string };
  value: number;
  /** Seconds since the epoch. */
  timestamp: number;
}

interface Series {
  readonly label: string;
  /** Per bucket (not cumulative); the last slot is above the highest bound. */
  readonly counts: Float64Array;
  sum: number;
  /** Per bucket, allocated at the first exemplar (never without tracing). */
  exemplars?: (Exemplar | undefined)[];
}

type Value = { labels: Record<string, string | number>; sharedLabels?: Record<string, string>; value: number; metricName: string; exemplar?: Exemplar };

class Child implements HistogramChild {
  constructor(readonly s: Series, private readonly bounds: readonly number[]) {}

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    const c = this.s.counts;
    c[i] = (c[i] as number) + 1;
    this.s.sum += value;
  }

  observeWithExemplar(value: number, traceId: string): void {
    this.observe(value);
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    (this.s.exemplars ??= [])[i] = { labelSet: { trace_id: traceId }, value, timestamp: Date.now() / 1000 };
  }
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Per label value, in creation order (the order /metrics prints them). */
  private readonly children = new Map<string, Child>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
    registers: Registry[],
  ) {
    for (const r of registers) r.registerMetric(this as never);
  }

  /** The child for one label value (created at zero, so the series shows before its first event). */
  labels(value: string): HistogramChild {
    let c = this.children.get(value);
    if (c === undefined) {
      c = new Child({ label: value, counts: new Float64Array(this.bounds.length + 1), sum: 0 }, this.bounds);
      this.children.set(value, c);
    }
    return c;
  }

  reset(): void {
    for (const { s } of this.children.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.exemplars = undefined;
    }
  }

  /** What /metrics prints: bucket lines carry `le` first, then the label, as prom-client's do. */
  getForPromString() {
    const values: Value[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { s } of this.children.values()) {
      const shared = { [this.labelName]: s.label };
      let acc = 0;
      const ex = s.exemplars;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        const exemplar = ex?.[i];
        values.push({ labels: { le }, sharedLabels: shared, value: acc, metricName: bucket, ...(exemplar === undefined ? {} : { exemplar }) });
      });
      acc += s.counts[this.bounds.length] as number;
      const top = ex?.[this.bounds.length];
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: acc, metricName: bucket, ...(top === undefined ? {} : { exemplar: top }) });
      values.push({ labels: {}, sharedLabels: shared, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: acc, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /**
   * The exemplar of each bucket sample that has one, keyed by the sample's series as
   * prom-client prints it (`name_bucket{le="…",label="…"}`), in OpenMetrics form.
   */
  exemplars(): Map<string, string> {
    const out = new Map<string, string>();
    for (const { s } of this.children.values()) {
      const ex = s.exemplars;
      if (ex === undefined) continue;
      [...this.bounds, '+Inf' as const].forEach((le, i) => {
        const e = ex[i];
        if (e !== undefined) out.set(`${this.name}_bucket{le="${le}",${this.labelName}="${s.label}"}`, ` # {trace_id="${e.labelSet.trace_id}"} ${e.value} ${e.timestamp.toFixed(3)}`);
      });
    }
    return out;
  }

  /** The JSON form (registry merges, the cluster aggregator): labels flattened into one object. */
  get() {
    const data = this.getForPromString();
    return {
      ...data,
      // Exemplars stay out of the JSON form: the cluster aggregator sums values, not traces.
      values: data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName })),
    };
  }
}
