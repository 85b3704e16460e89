/**
 * Just enough PromQL lexing to list what an expression reads: the metric names it selects and
 * the label names each selector matches on. Syntax itself is promtool's job (every expression
 * the deploy tests read also goes through `promtool check rules`); this scanner assumes valid
 * PromQL and only needs to tell metric names from functions, keywords, labels and literals.
 */

const KEYWORDS = new Set([
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'atan2',
  'inf', 'nan', 'start', 'end',
]);
/** Aggregation operators: `sum by (x) (...)` puts the grouping before the parenthesis. */
const AGGREGATIONS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
]);
/** Keywords followed by a parenthesised label list (not a function call). */
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export interface Selector {
  metric: string;
  labels: string[];
}

/** Grafana's built-in and dashboard variables → something PromQL accepts. */
export function substituteGrafanaVars(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\}|\$__range|\$\{__range\}/g, '5m')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, 'x');
}

export function selectors(expr: string): Selector[] {
  const s = substituteGrafanaVars(expr);
  const out: Selector[] = [];
  let i = 0;
  const n = s.length;
  const skipString = (): void => {
    const q = s[i];
    i++;
    while (i < n && s[i] !== q) i += s[i] === '\\' ? 2 : 1;
    i++;
  };
  const skipBalanced = (open: string, close: string): string => {
    const start = i;
    let depth = 0;
    while (i < n) {
      const c = s[i]!;
      if (c === '"' || c === "'" || c === '`') {
        skipString();
        continue;
      }
      if (c === open) depth++;
      if (c === close) {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
      i++;
    }
    return s.slice(start, i);
  };
  const matcherLabels = (block: string): string[] => {
    const labels: string[] = [];
    const re = /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/g;
    // Remove quoted values first so an `a=b` inside a value is not read as a matcher.
    const bare = block.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
    for (const m of bare.matchAll(re)) labels.push(m[1]!);
    return labels;
  };
  const peek = (): string => {
    let j = i;
    while (j < n && /\s/.test(s[j]!)) j++;
    return s[j] ?? '';
  };
  const skipSpace = (): void => {
    while (i < n && /\s/.test(s[i]!)) i++;
  };

  while (i < n) {
    const c = s[i]!;
    if (c === '"' || c === "'" || c === '`') {
      skipString();
      continue;
    }
    if (c === '#') {
      while (i < n && s[i] !== '\n') i++;
      continue;
    }
    if (c === '[') {
      skipBalanced('[', ']');
      continue;
    }
    if (c === '{') {
      // A selector without a metric name: {__name__="x"} — read the name if given.
      const block = skipBalanced('{', '}');
      const m = /__name__\s*=\s*"([^"]+)"/.exec(block);
      if (m) out.push({ metric: m[1]!, labels: matcherLabels(block).filter((l) => l !== '__name__') });
      continue;
    }
    if (/[0-9.]/.test(c)) {
      // Numbers, durations (5m, 1h30m), hex, scientific notation.
      const m = /^(0x[0-9a-fA-F]+|(?:\d+(?:ms|[smhdwy]))+|\d*\.?\d+(?:[eE][+-]?\d+)?)/.exec(s.slice(i));
      i += m ? m[0].length : 1;
      continue;
    }
    if (/[A-Za-z_:]/.test(c)) {
      const m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(s.slice(i))!;
      const word = m[0];
      i += word.length;
      const lower = word.toLowerCase();
      if (LABEL_LISTS.has(lower)) {
        skipSpace();
        if (s[i] === '(') skipBalanced('(', ')');
        continue;
      }
      if (KEYWORDS.has(lower)) continue;
      if (peek() === '(') continue; // function or aggregation
      if (AGGREGATIONS.has(lower) && /^\s*(by|without)\s*\(/i.test(s.slice(i))) continue;
      const labels: string[] = [];
      skipSpace();
      if (s[i] === '{') labels.push(...matcherLabels(skipBalanced('{', '}')));
      out.push({ metric: word, labels });
      continue;
    }
    i++;
  }
  return out;
}

export function metricNames(expr: string): Set<string> {
  return new Set(selectors(expr).map((x) => x.metric));
}

/** The metric families a Prometheus text exposition declares, with their types and sample labels. */
export interface Family {
  name: string;
  type: string;
  /** Label names seen on samples (without `le`/`quantile`). */
  labels: Set<string>;
  /** Number of samples. */
  samples: number;
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const sampleNames = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/.exec(line);
    if (t) {
      const fam: Family = { name: t[1]!, type: t[2]!, labels: new Set(), samples: 0 };
      families.set(fam.name, fam);
      const suffixes = fam.type === 'histogram' ? ['_bucket', '_sum', '_count'] : fam.type === 'summary' ? ['_sum', '_count'] : [];
      sampleNames.set(fam.name, fam.name);
      for (const sfx of suffixes) sampleNames.set(fam.name + sfx, fam.name);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s/.exec(line);
    if (!m) continue;
    const fam = families.get(sampleNames.get(m[1]!) ?? m[1]!);
    if (!fam) continue;
    fam.samples++;
    for (const lm of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) {
      if (lm[1] !== 'le' && lm[1] !== 'quantile') fam.labels.add(lm[1]!);
    }
  }
  return families;
}

/** Every name a scrape defines: family names plus histogram/summary sample names. */
export function definedNames(families: Map<string, Family>): Map<string, Family> {
  const names = new Map<string, Family>();
  for (const f of families.values()) {
    names.set(f.name, f);
    const suffixes = f.type === 'histogram' ? ['_bucket', '_sum', '_count'] : f.type === 'summary' ? ['_sum', '_count'] : [];
    for (const sfx of suffixes) names.set(f.name + sfx, f);
  }
  return names;
}
