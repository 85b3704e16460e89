/**
 * A request body's JSON text → value, exactly as fastify's own parser takes it
 * (secure-json-parse with protoAction and constructorAction 'error': a `__proto__` key, or a
 * `constructor` key holding `prototype`, is refused), at the price of JSON.parse on the texts
 * that cannot hold either.
 *
 * Why: secure-json-parse runs JSON.parse, then two regular expressions over the whole text
 * (each letter of both names spelled "x or its \u escape"); on a Kong plugin body those cost
 * more than the parse itself (bench/README.md, optimizations log). A key it refuses is spelled in
 * the text literally or with a `\u` escape, so a text holding neither name and no `\u` cannot
 * match either expression: JSON.parse alone gives the same value. Every other text — and one
 * that starts with a byte order mark, which secure-json-parse strips first — goes through
 * secure-json-parse unchanged.
 */
import secureJson from 'secure-json-parse';

const REFUSE = { protoAction: 'error', constructorAction: 'error' } as const;
const BOM = 0xfeff;

/** Parses `text`; throws (a SyntaxError) on malformed JSON and on a poisoned key. */
export function parseJsonSafely(text: string): unknown {
  if (text.charCodeAt(0) !== BOM && !text.includes('\\u') && !text.includes('__proto__') && !text.includes('constructor')) return JSON.parse(text);
  return secureJson.parse(text, undefined, REFUSE);
}
