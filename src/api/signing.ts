/**
 * Signed requests, the ASCEND SDK's own scheme (its `signing_secret`): for a key configured with
 * `signing_secret`, a request whose JSON body is not empty must carry
 *
 *   X-Request-Timestamp: 2026-12-06T23:20:43.990985+00:00   (Python isoformat; Unix seconds also)
 *   X-Signature: v1=<hex HMAC-SHA256(secret, "<X-Request-Timestamp>.<canonical body>")>
 *
 * where the canonical body is Python's `json.dumps(body, sort_keys=True)` (canonical-json.ts).
 * The SDK signs only non-empty bodies (`if data:`): GETs, bodiless POST/DELETE and `{}` are
 * accepted unsigned, so signing protects what a body says, not bodiless calls. A timestamp more
 * than 5 minutes from the server's clock is refused. There is no nonce: the SDK's own urllib3
 * retries resend the same timestamp and signature within that window.
 *
 * A preValidation hook: after authentication (the key picks the secret) and body parsing, before
 * schema validation, so an unsigned caller learns nothing about a route's body schema.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { RuntimeState } from '../pipeline/state.js';
import type { Clock } from '../shared/runtime.js';
import { CanonicalJsonError, pythonCanonicalJson } from './canonical-json.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON body as received (set by the API's body parser), for signature checks. */
    rawBody: string | undefined;
  }
}

export const TOLERANCE_SECONDS = 300;

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const SIGNATURE = /^v1=([0-9a-fA-F]{64})$/;

export interface SignedRequest {
  readonly secret: string;
  readonly rawBody: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly nowMs: number;
}

/** Python's truthiness of the body: the SDK signs only when `data` is truthy. */
function pythonFalsy(canonical: string): boolean {
  return ['{}', '[]', '""', 'null', 'false'].includes(canonical) || (/^-?\d/.test(canonical) && Number(canonical) === 0);
}

function timestampMs(text: string): number | undefined {
  if (/^\d{1,12}$/.test(text)) return Number(text) * 1000;
  return ISO_WITH_OFFSET.test(text) ? Date.parse(text) : undefined;
}

/** Why the request fails the signature check ("missing: …", "malformed: …", "stale: …", "mismatch: …"), or undefined. */
export function signatureProblem(r: SignedRequest): string | undefined {
  if (r.rawBody === undefined) return undefined;
  let canonical: string;
  try {
    canonical = pythonCanonicalJson(r.rawBody);
  } catch (e) {
    if (e instanceof CanonicalJsonError) return `malformed: the body cannot be signed (${e.message})`;
    throw e;
  }
  if (pythonFalsy(canonical)) return undefined;
  const ts = r.headers['x-request-timestamp'];
  const sig = r.headers['x-signature'];
  if (sig === undefined) return "missing: X-Signature (this API key's requests with a JSON body must be signed)";
  if (ts === undefined) return 'missing: X-Request-Timestamp';
  const at = typeof ts === 'string' ? timestampMs(ts) : undefined;
  if (at === undefined || Number.isNaN(at)) return 'malformed: X-Request-Timestamp must be ISO 8601 with an offset or Unix seconds';
  const given = typeof sig === 'string' ? SIGNATURE.exec(sig)?.[1] : undefined;
  if (given === undefined) return 'malformed: X-Signature must be v1=<64 hex digits>';
  const skew = Math.round(Math.abs(r.nowMs - at) / 1000);
  if (skew > TOLERANCE_SECONDS) return `stale: X-Request-Timestamp is ${skew} s from the server's clock (at most ${TOLERANCE_SECONDS})`;
  const expected = createHmac('sha256', r.secret).update(`${ts as string}.${canonical}`, 'utf8').digest();
  if (!timingSafeEqual(Buffer.from(given, 'hex'), expected)) return 'mismatch: X-Signature does not match the body and timestamp';
  return undefined;
}

export function installSigning(api: FastifyInstance, state: RuntimeState, now: Clock): void {
  api.decorateRequest('rawBody', undefined);
  api.addHook('preValidation', async (req) => {
    if (!req.principal) return;
    const secret = state.runtime.apiKeys.rules(req.principal.name).signingSecret;
    if (secret === undefined) return;
    const problem = signatureProblem({ secret, rawBody: req.rawBody, headers: req.headers, nowMs: now() });
    if (problem) throw new ApiError(401, 'invalid_signature', `invalid signature, ${problem}`);
  });
}
