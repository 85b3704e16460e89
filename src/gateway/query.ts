/**
 * The query string, parsed once per request (form-style: `+` is a space, escapes decoded).
 *
 * Keys the config reads (`{query.amount}` in a route, `request.query.amount` in a condition)
 * are parsed strictly, because upstream frameworks disagree on how to read them: PHP and Rails
 * take `amount[]=` as `amount`, some Java and Python stacks split pairs on `;`, others fold the
 * key's case or keep the last of two values. For such a key the sidecar therefore matches the
 * name case-insensitively (stored under its lower-case name) and refuses every spelling that
 * two parsers could read differently — the same key twice (after folding), `key[...]=`, or a
 * `;` inside a pair that holds the key — with `ambiguous_parameter` (HTTP 400).
 *
 * Other keys keep every value, in order, as a list when repeated.
 */
import { RequestError } from '../core/errors.js';
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

/** `Amount[]` → `amount`; what a lenient parser would take the key for. */
function foldKey(key: string): string {
  const b = key.indexOf('[');
  const bare = b === -1 ? key : key.slice(0, b);
  return bare.trim().toLowerCase();
}

function ambiguous(name: string, why: string): RequestError {
  return new RequestError('ambiguous_parameter', `query parameter "${name}" ${why}`);
}

/** Checks one decoded pair against the read keys; returns the folded name when it is one. */
function readKeyOf(key: string, value: string, hasValue: boolean, readKeys: ReadonlySet<string>): string | undefined {
  const name = foldKey(key);
  const isRead = readKeys.has(name);
  if (key.indexOf(';') !== -1 || (hasValue && value.indexOf(';') !== -1)) {
    // `x=1;amount=5000`, `amount=5;x=1`: a parser that splits on `;` reads other pairs.
    for (const piece of `${key}${hasValue ? `=${value}` : ''}`.split(';')) {
      const eq = piece.indexOf('=');
      const k = foldKey(eq === -1 ? piece : piece.slice(0, eq));
      if (readKeys.has(k)) throw ambiguous(k, 'is inside a ";"-separated pair');
    }
  }
  if (!isRead) return undefined;
  if (key.indexOf('[') !== -1) throw ambiguous(name, `is given as "${key}"`);
  return name;
}

/**
 * Parses a raw query string. `readKeys` (lower-case) are the keys the config reads: they are
 * stored under their lower-case name, and any ambiguous spelling of one throws
 * `ambiguous_parameter`.
 */
export function parseQuery(raw: string, readKeys?: ReadonlySet<string>): QueryMap {
  const out: QueryMap = nullObject<string | string[]>() as QueryMap;
  if (raw === '') return out;
  const strict = readKeys !== undefined && readKeys.size > 0;
  // Pair by pair with indexOf (as split('&') would cut them, empty pairs skipped): no array
  // and no string per pair besides its key and value.
  for (let start = 0; start <= raw.length; ) {
    let end = raw.indexOf('&', start);
    if (end === -1) end = raw.length;
    const from = start;
    start = end + 1;
    if (end === from) continue;
    // Not indexOf('=', from): past `end` it would scan the pairs after this one, each time.
    let eq = -1;
    for (let i = from; i < end; i++) {
      if (raw.charCodeAt(i) === 0x3d) {
        eq = i;
        break;
      }
    }
    const key = decodeComponent(raw.slice(from, eq === -1 ? end : eq));
    const value = eq === -1 ? '' : decodeComponent(raw.slice(eq + 1, end));
    const read = strict ? readKeyOf(key, value, eq !== -1, readKeys) : undefined;
    if (read !== undefined) {
      if (out[read] !== undefined) throw ambiguous(read, 'is given more than once');
      out[read] = value;
      continue;
    }
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}
