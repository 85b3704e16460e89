/**
 * Request bodies as conditions and templates see them (`body.<path>`): JSON or HTML form data,
 * parsed once per check and only where the config reads a body (mapping/mapper.ts). Bounded
 * before anything is built: the text by `limits.max_body_bytes`, JSON nesting by
 * `limits.max_json_depth` (counted on the text, gateway/json-depth.ts).
 *
 * A body the gateway marked partial (Envoy `x-envoy-auth-partial-body: true`, the Kong plugin's
 * `body_truncated`) is never parsed: the start of a JSON document is not the document, and a
 * condition that holds on a prefix says nothing about the rest. Reading it denies the request
 * with `body_truncated` (see {@link readBody}).
 */
import type { RequestBody } from '../core/action.js';
import { RequestError } from '../core/errors.js';
import { nullObject } from '../shared/null-object.js';
import { exceedsJsonDepth } from './json-depth.js';

export type { RequestBody };

export interface BodyLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
}

export interface BodySource {
  readonly body: string | undefined;
  readonly bodyPartial: boolean;
  readonly bodyIsJson: boolean;
  readonly headers: Readonly<Record<string, string>>;
}

export const PARTIAL_BODY: RequestBody = Object.freeze({ partial: true });

const JSON_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json\s*(?:;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;

function invalid(message: string): RequestError {
  return new RequestError('invalid_body', message);
}

/** Which parser a body gets: JSON for JSON types (or none given, when it looks like JSON), form for form data. */
function formatOf(src: BodySource, text: string, json: boolean): 'json' | 'form' {
  if (json || src.bodyIsJson) return 'json';
  const type = src.headers['content-type'];
  if (type === undefined || type.trim() === '') {
    const first = text.trimStart()[0];
    if (first === '{' || first === '[') return 'json';
    throw invalid('request body without a content type is not JSON');
  }
  if (JSON_TYPE.test(type)) return 'json';
  if (FORM_TYPE.test(type)) return 'form';
  throw invalid(`request body of type ${JSON.stringify(type.split(';')[0]?.trim())} is not read (JSON and form data are)`);
}

function parseJson(text: string, maxDepth: number): unknown {
  if (exceedsJsonDepth(text, maxDepth)) throw invalid(`request body is nested deeper than ${maxDepth} levels (limits.max_json_depth)`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid(`request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** `a=1&a=2&b=x` → `{a: ['1', '2'], b: 'x'}` (null prototype: `__proto__=` is just a key). */
function parseForm(text: string): Record<string, string | string[]> {
  const out = nullObject<string | string[]>();
  for (const [k, v] of new URLSearchParams(text)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * The body of `src`, parsed; undefined when there is none. Throws `invalid_body` for one that
 * is too large, of a type that is not read, or that does not parse. `json`: parse as JSON
 * whatever the content type says (an MCP route).
 */
export function parseBody(src: BodySource, limits: BodyLimits, json = false): RequestBody | undefined {
  const text = src.body;
  if (text === undefined || text === '') return src.bodyPartial ? PARTIAL_BODY : undefined;
  if (src.bodyPartial) return PARTIAL_BODY;
  // UTF-16 length ≤ UTF-8 bytes ≤ 3 × it: the exact count only when it can matter.
  if (text.length > limits.maxBytes || (text.length * 3 > limits.maxBytes && Buffer.byteLength(text, 'utf8') > limits.maxBytes)) {
    throw invalid(`request body is larger than ${limits.maxBytes} bytes (limits.max_body_bytes)`);
  }
  const format = formatOf(src, text, json);
  const value = format === 'json' ? parseJson(text, limits.maxDepth) : parseForm(text);
  return { partial: false, format, value };
}

/** The whole parsed value; reading a partial body denies the request (`body_truncated`). */
export function readBody(body: RequestBody | undefined): unknown {
  if (body === undefined) return undefined;
  if (body.partial) throw new RequestError('body_truncated', 'the gateway sent only part of the request body, and the policy reads it');
  return body.value;
}

/**
 * `keys` inside a parsed body: object members (own properties only, so `body.constructor` never
 * reaches a prototype) and array elements by decimal index (`body.items.0.id`).
 */
export function digBody(value: unknown, keys: readonly string[]): unknown {
  let v = value;
  for (const k of keys) {
    if (v === null || typeof v !== 'object') return undefined;
    if (Array.isArray(v)) {
      if (!/^(0|[1-9][0-9]{0,8})$/.test(k)) return undefined;
      v = v[Number(k)];
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}
