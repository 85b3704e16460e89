import { nullObject } from '../shared/null-object.js';
import type { QueryMap } from './request.js';

function decodeComponent(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    // A malformed escape is kept verbatim rather than guessed at.
    return plus;
  }
}

/**
 * Parses a raw query string (form-style: `+` is a space). A key given more than once keeps
 * every value, in order, as an array: a policy must see the whole request, not one copy.
 */
export function parseQuery(raw: string): QueryMap {
  const out: QueryMap = nullObject<string | string[]>() as QueryMap;
  if (raw === '') return out;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1));
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}
