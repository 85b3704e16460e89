/** Display helpers. Everything they return is text: the page renders it as text, never as HTML. */

export function duration(ms: number): string {
  const neg = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const text = d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
  return neg ? `-${text}` : text;
}

export function json(value: unknown, max = 400): string {
  const text = JSON.stringify(value, null, 1) ?? '';
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

export function riskClass(score: number | null | undefined): string {
  if (score === null || score === undefined) return 'risk';
  return score >= 70 ? 'risk high' : score >= 40 ? 'risk medium' : 'risk low';
}
