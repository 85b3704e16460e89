/**
 * Where a JSON-RPC message's `id` value is in its text, so that two calls that differ only in
 * their id — what a client that numbers its requests sends — can share a parse and a
 * decision-cache key (mapping/mcp-memo.ts). Structure only: the text is not validated here, and
 * the memo trusts a span only after a real parse of the text agreed with it.
 *
 * A span is given only for the plain case: one object whose top level has exactly one key
 * spelt `"id"`, no top-level key with an escape (`"i\u0064"` is also "id" to JSON.parse), and
 * an id value that starts like a number, a string or null. Anything else — a batch, a
 * duplicate or escaped key, trailing text — gives undefined, and the text is keyed whole.
 */

import { closingQuote } from '../gateway/json-depth.js';

export interface IdSpan {
  /** Index of the value's first character. */
  readonly start: number;
  /** Index just past its last. */
  readonly end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const LOWER_N = 0x6e;

const isWs = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

function skipWs(text: string, i: number): number {
  while (i < text.length && isWs(text.charCodeAt(i))) i++;
  return i;
}

/** Index just past the value starting at `i`, or -1 when it does not end. */
function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) {
    const q = closingQuote(text, i);
    return q < 0 ? -1 : q + 1;
  }
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === QUOTE) {
        j = closingQuote(text, j);
        if (j < 0) return -1;
      } else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if ((d === CLOSE_BRACE || d === CLOSE_BRACKET) && --depth === 0) return j + 1;
    }
    return -1;
  }
  let j = i;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isWs(d)) break;
    j++;
  }
  return j > i ? j : -1;
}

export function idSpan(text: string): IdSpan | undefined {
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  let found: IdSpan | undefined;
  i = skipWs(text, i + 1);
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const close = closingQuote(text, i);
    if (close < 0) return undefined;
    for (let k = i + 1; k < close; k++) if (text.charCodeAt(k) === BACKSLASH) return undefined;
    const isId = close - i === 3 && text.charCodeAt(i + 1) === 0x69 && text.charCodeAt(i + 2) === 0x64;
    i = skipWs(text, close + 1);
    if (text.charCodeAt(i) !== COLON) return undefined;
    const start = skipWs(text, i + 1);
    const end = valueEnd(text, start);
    if (end < 0) return undefined;
    if (isId) {
      const c = text.charCodeAt(start);
      if (found !== undefined || !(c === QUOTE || c === MINUS || c === LOWER_N || isDigit(c))) return undefined;
      found = { start, end };
    }
    i = skipWs(text, end);
    const next = text.charCodeAt(i);
    if (next === CLOSE_BRACE) return skipWs(text, i + 1) === text.length ? found : undefined;
    if (next !== COMMA) return undefined;
    i = skipWs(text, i + 1);
  }
}
