/**
 * Webhook signatures. The sender signs `<timestamp>.<raw body>` with HMAC-SHA256 under the
 * subscription secret and sends
 *   x-signature: v1=<hex>          (a comma-separated list is accepted, for secret rotation)
 *   x-request-timestamp: <Unix seconds>
 *   x-event-id: <event id>      (unsigned: a copy of the body's signed `id`, for compatibility)
 * Signing the timestamp with the body lets a receiver reject replays older than its tolerance;
 * within it, the body's `id` (signed) is what recognises a replayed delivery.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-signature';
export const TIMESTAMP_HEADER = 'x-request-timestamp';
export const EVENT_ID_HEADER = 'x-event-id';

type Body = string | Uint8Array;

/** Headers as Node's IncomingHttpHeaders, a plain object with any-case names, or a fetch Headers. */
export type HeaderSource =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | { get(name: string): string | null };

export type VerifyFailure =
  | 'missing_timestamp' | 'invalid_timestamp' | 'stale_timestamp' | 'missing_signature' | 'invalid_signature';

export type VerifyResult = { readonly ok: true; readonly timestamp: number } | { readonly ok: false; readonly reason: VerifyFailure };

export interface VerifyOptions {
  /** Largest accepted |now − timestamp| in seconds. Default 300. */
  readonly toleranceSeconds?: number;
  /** Current time in ms since the epoch (or a Date). Default Date.now(). */
  readonly now?: number | Date;
}

/** `v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. */
export function signWebhook(secret: string, timestampSeconds: number, rawBody: Body): string {
  return `v1=${mac(secret, timestampSeconds, rawBody).toString('hex')}`;
}

/** The three signing headers for one delivery attempt. */
export function webhookHeaders(secret: string, eventId: string, rawBody: Body, nowMs: number): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { [SIGNATURE_HEADER]: signWebhook(secret, ts, rawBody), [TIMESTAMP_HEADER]: String(ts), [EVENT_ID_HEADER]: eventId };
}

/**
 * True when the body was signed with `secret` within the tolerance. Returns a boolean on purpose:
 * a result object is always truthy, and `if (verify(...))` must never pass a forged request.
 * Use {@link verifyWebhookDetailed} to learn why a request failed.
 */
export function verifyWebhook(secret: string, headers: HeaderSource, rawBody: Body, options: VerifyOptions = {}): boolean {
  return verifyWebhookDetailed(secret, headers, rawBody, options).ok;
}

/** Like {@link verifyWebhook} with the reason of a failure. Compares in constant time. */
export function verifyWebhookDetailed(
  secret: string, headers: HeaderSource, rawBody: Body, options: VerifyOptions = {},
): VerifyResult {
  const rawTs = header(headers, TIMESTAMP_HEADER);
  if (rawTs === undefined || rawTs === '') return { ok: false, reason: 'missing_timestamp' };
  if (!/^\d{1,12}$/.test(rawTs.trim())) return { ok: false, reason: 'invalid_timestamp' };
  const ts = Number(rawTs.trim());
  const now = options.now === undefined ? Date.now() : Number(options.now);
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(now / 1000 - ts) > tolerance) return { ok: false, reason: 'stale_timestamp' };
  const sig = header(headers, SIGNATURE_HEADER);
  if (sig === undefined || sig === '') return { ok: false, reason: 'missing_signature' };
  const expected = mac(secret, ts, rawBody);
  // Check every candidate without stopping early, so timing does not tell which one matched.
  let match = false;
  for (const part of sig.split(',')) {
    const m = /^\s*v1=([0-9a-fA-F]{64})\s*$/.exec(part);
    if (m && timingSafeEqual(Buffer.from(m[1]!, 'hex'), expected)) match = true;
  }
  return match ? { ok: true, timestamp: ts } : { ok: false, reason: 'invalid_signature' };
}

function mac(secret: string, ts: number, body: Body): Buffer {
  if (secret.length === 0) throw new TypeError('webhook secret must not be empty');
  return createHmac('sha256', secret).update(`${ts}.`).update(body).digest();
}

/** Case-insensitive lookup; repeated headers are joined like Node joins them (", "). */
function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (k.toLowerCase() !== name) continue;
    return typeof v === 'string' ? v : v?.join(', ');
  }
  return undefined;
}
