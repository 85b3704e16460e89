/**
 * A JSON request body → its value, as every JSON route takes it: the fastify scopes' parser
 * (server.ts useJsonParser) and the fast path's (fast-routes.ts) are this one function, so the
 * two answer the same body with the same value or the same refusal.
 *
 * The text is depth-checked before it is parsed (gateway/json-depth.ts, a 400), then parsed as
 * fastify's own parser would (gateway/json-parse.ts, refusing `__proto__` and
 * `constructor.prototype` keys), failing with fastify's own errors so `problemOf` maps them
 * alike. `allowEmpty`: a body of only whitespace is "no body", undefined (the ASCEND SDK sends
 * `Content-Type: application/json` on bodiless POST and DELETE).
 */
import { errorCodes } from 'fastify';
import { assertJsonDepth } from '../gateway/json-depth.js';
import { parseJsonSafely } from '../gateway/json-parse.js';

const { FST_ERR_CTP_EMPTY_JSON_BODY, FST_ERR_CTP_INVALID_JSON_BODY } = errorCodes;

/** Parses `text`; throws the error the route answers with. */
export function parseJsonBody(text: string, allowEmpty: boolean, maxDepth: number): unknown {
  if (allowEmpty && text.trim() === '') return undefined;
  try {
    assertJsonDepth(text, maxDepth, 'request body');
  } catch (e) {
    throw Object.assign(e as Error, { statusCode: 400 });
  }
  if (text.length === 0) throw new FST_ERR_CTP_EMPTY_JSON_BODY();
  try {
    return parseJsonSafely(text);
  } catch {
    throw new FST_ERR_CTP_INVALID_JSON_BODY();
  }
}
