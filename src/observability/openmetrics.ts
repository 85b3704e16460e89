/**
 * /metrics in the OpenMetrics text format (what Prometheus asks for first), served only while
 * tracing is on: it is the format that can carry exemplars, the trace ids on the buckets of
 * ascend_authz_check_duration_seconds. Converted from the Prometheus text prom-client renders,
 * rather than rendered by prom-client's OpenMetrics mode, which renames counters on the shared
 * metric objects (stripping `_total`) and would change the plain-text /metrics for everyone.
 *
 * OpenMetrics differences handled (https://prometheus.io/docs/specs/om/open_metrics_spec/):
 * a counter family is named without `_total` and its samples carry it; `untyped` is `unknown`;
 * no blank lines; `# EOF` at the end; exemplars after a bucket sample as ` # {labels} value ts`.
 */

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Whether an Accept header asks for OpenMetrics (Prometheus lists it first when it can use it). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/openmetrics-text');
}

/**
 * `text` (Prometheus 0.0.4) as OpenMetrics 1.0; `exemplars` maps a sample's series (the line up
 * to its value, e.g. `x_bucket{le="0.001",adapter="envoy"}`) to the exemplar appended to it.
 */
export function toOpenMetrics(text: string, exemplars: ReadonlyMap<string, string>): string {
  const out: string[] = [];
  const lines = text.split('\n');
  const counters = new Set<string>();
  for (const line of lines) if (line.startsWith('# TYPE ') && line.endsWith(' counter')) counters.add(line.split(' ')[2] as string);
  // Counter families not named *_total: their samples get the suffix.
  const suffixed = new Set<string>();
  for (const line of lines) {
    if (line === '') continue;
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [hash, kind, name, ...rest] = line.split(' ');
      let family = name as string;
      let tail = rest.join(' ');
      if (kind === 'TYPE' && tail === 'untyped') tail = 'unknown';
      if (counters.has(family)) {
        if (family.endsWith('_total')) family = family.slice(0, -'_total'.length);
        else suffixed.add(family);
      }
      out.push(`${hash} ${kind} ${family} ${tail}`);
      continue;
    }
    if (line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    let series = line.slice(0, cut);
    const brace = series.indexOf('{');
    const name = brace === -1 ? series : series.slice(0, brace);
    if (suffixed.has(name)) series = `${name}_total${series.slice(name.length)}`;
    const exemplar = exemplars.get(line.slice(0, cut));
    out.push(`${series}${line.slice(cut)}${exemplar ?? ''}`);
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}
