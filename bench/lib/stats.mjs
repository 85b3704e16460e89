// Small statistics helpers shared by the drivers and the report.

/**
 * Latency percentiles (nearest-rank) from a list of µs values. Sorts a Float64Array copy:
 * numeric sort without a comparator callback, fast enough for a few million samples.
 */
export function percentiles(values, ps = [50, 90, 99, 99.9]) {
  const sorted = Float64Array.from(values).sort();
  const out = {};
  for (const p of ps) {
    const key = `p${String(p).replace('.', '')}`; // p50 p90 p99 p999
    out[key] = sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
  }
  out.samples = sorted.length;
  return out;
}

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** min..max spread of a list, for "how noisy was this". */
export const spread = (xs) => ({ min: Math.min(...xs), max: Math.max(...xs) });
