/**
 * JSON nesting depth, counted on the text before it is parsed (limits.max_json_depth). A
 * document nested thousands deep is cheap to send and expensive to hold: recursive code that
 * walks it (serializers, canonical keys, the decision cache's key) overflows the stack, and
 * what is an input error must never surface as an internal failure answered per fail_mode.
 * Counting on the text rejects it before anything is built, in one pass with no recursion.
 */
import { RequestError } from '../core/errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** The deepest nesting of objects and arrays in `text` (0 for a scalar), stopping once past `limit`. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Strings are most of a body's text: jump to the closing quote (one not escaped, i.e.
      // preceded by an even number of backslashes) instead of visiting every character.
      i = closingQuote(text, i);
      if (i < 0) return max;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return max;
}

/** Index of the quote that closes the string opened at `open`, or -1 when it is never closed. */
export function closingQuote(text: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q < 0) return -1;
    let b = q - 1;
    while (b > open && text.charCodeAt(b) === BACKSLASH) b--;
    if ((q - 1 - b) % 2 === 0) return q;
    from = q + 1;
  }
}

/**
 * Whether `text` holds at most `max` opening brackets and braces, strings included: then it
 * cannot nest deeper than `max`. Counted with indexOf (native, no per-character loop): a gateway
 * body has a handful, so the exact count below is skipped for nearly every request.
 */
function opensAtMost(text: string, max: number): boolean {
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++n > max) return false;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++n > max) return false;
  return true;
}

/** Whether `text` nests deeper than `max`: the exact count only when the bracket count allows it. */
export function exceedsJsonDepth(text: string, max: number): boolean {
  return !opensAtMost(text, max) && jsonDepth(text, max) > max;
}

/** Throws `too_deep` (HTTP 400) when `text` nests deeper than `max`, counted from its root. */
export function assertJsonDepth(text: string, max: number, what = 'JSON document'): void {
  if (exceedsJsonDepth(text, max)) {
    throw new RequestError('too_deep', `${what} is nested deeper than ${max} levels (limits.max_json_depth)`);
  }
}

/** The nesting depth of an already parsed value (iterative), stopping once past `limit`. */
export function valueDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > max) {
      max = depth;
      if (max > limit) return max;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth]);
  }
  return max;
}
