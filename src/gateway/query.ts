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

/**
 * `s.toLowerCase()`, without the call when `s` holds no upper-case ASCII letter and nothing
 * beyond ASCII (header names, query keys and schemes nearly always): the same string either way.
 */
export function lowerCased(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return s.toLowerCase();
  }
  return s;
}

/** `s.trim()`, without the call when both ends are printable ASCII (no white space to remove). */
function trimmed(s: string): string {
  const n = s.length;
  if (n === 0) return s;
  const a = s.charCodeAt(0);
  const z = s.charCodeAt(n - 1);
  return a > 0x20 && a < 0x7f && z > 0x20 && z < 0x7f ? s : s.trim();
}

/** `Amount[]` → `amount`; what a lenient parser would take the key for. `b`: the key's first `[` (-1: none). */
function foldKey(key: string, b = key.indexOf('[')): string {
  const bare = b === -1 ? key : key.slice(0, b);
  return lowerCased(trimmed(bare));
}

function ambiguous(name: string, why: string): RequestError {
  return new RequestError('ambiguous_parameter', `query parameter "${name}" ${why}`);
}

/**
 * Checks one decoded pair against the read keys; returns the folded name when it is one.
 * `bracket`: the key's first `[` (-1: none); `semicolon`: whether key or value holds a `;`.
 */
function readKeyOf(key: string, value: string, hasValue: boolean, readKeys: ReadonlySet<string>, bracket: number, semicolon: boolean): string | undefined {
  const name = foldKey(key, bracket);
  const isRead = readKeys.has(name);
  if (semicolon) {
    // `x=1;amount=5000`, `amount=5;x=1`: a parser that splits on `;` reads other pairs.
    for (const piece of `${key}${hasValue ? `=${value}` : ''}`.split(';')) {
      const eq = piece.indexOf('=');
      const k = foldKey(eq === -1 ? piece : piece.slice(0, eq));
      if (readKeys.has(k)) throw ambiguous(k, 'is inside a ";"-separated pair');
    }
  }
  if (!isRead) return undefined;
  if (bracket !== -1) throw ambiguous(name, `is given as "${key}"`);
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
  // Pair by pair (as split('&') would cut them, empty pairs skipped), each pair's characters
  // visited once: its end, its first `=`, and whether its key or value holds an escape (`%`,
  // `+`), a `;` or (the key) a `[` — no indexOf per question, no array, and no string per pair
  // besides its key and value.
  const n = raw.length;
  for (let start = 0; start <= n; ) {
    const from = start;
    let eq = -1;
    let keyEscaped = false;
    let valueEscaped = false;
    let bracket = -1;
    let semicolon = false;
    let end = from;
    for (; end < n; end++) {
      const c = raw.charCodeAt(end);
      if (c === 0x26 /* & */) break;
      if (c === 0x25 /* % */ || c === 0x2b /* + */) {
        if (eq === -1) keyEscaped = true;
        else valueEscaped = true;
      } else if (c === 0x3d /* = */) {
        if (eq === -1) eq = end;
      } else if (c === 0x3b /* ; */) semicolon = true;
      else if (c === 0x5b /* [ */ && eq === -1 && bracket === -1) bracket = end - from;
    }
    start = end + 1;
    if (end === from) continue;
    const rawKey = raw.slice(from, eq === -1 ? end : eq);
    const key = keyEscaped ? decodeComponent(rawKey) : rawKey;
    const value = eq === -1 ? '' : valueEscaped ? decodeComponent(raw.slice(eq + 1, end)) : raw.slice(eq + 1, end);
    let read: string | undefined;
    if (strict) {
      // What the scan saw holds for the decoded text only when nothing was decoded.
      const escaped = keyEscaped || valueEscaped;
      read = readKeyOf(
        key, value, eq !== -1, readKeys,
        keyEscaped ? key.indexOf('[') : bracket,
        escaped ? key.indexOf(';') !== -1 || (eq !== -1 && value.indexOf(';') !== -1) : semicolon,
      );
    }
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
