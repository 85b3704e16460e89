/**
 * One signed delivery attempt: the outbox worker's retries and the API's `webhook.test` send
 * through here, so both sign, time out and report failures the same way.
 */
import type { Timers } from '../shared/runtime.js';
import { webhookHeaders } from './signing.js';
import type { WebhookTransport } from './transport.js';

export interface AttemptOptions {
  readonly transport: WebhookTransport;
  readonly url: string;
  readonly secret: string;
  readonly eventId: string;
  readonly payload: string;
  /** ms since the epoch, for the signature's timestamp. */
  readonly now: number;
  /** Connect to response headers. */
  readonly timeoutMs: number;
  readonly timers: Timers;
}

/** The receiver's status (when it answered) and, unless it was a 2xx, why the attempt failed. */
export interface AttemptOutcome {
  readonly status?: number;
  readonly error?: string;
}

export async function attemptDelivery(o: AttemptOptions): Promise<AttemptOutcome> {
  const abort = new AbortController();
  const timer = o.timers.setTimeout(() => abort.abort(), o.timeoutMs);
  try {
    const { url, authorization } = splitCredentials(o.url);
    const status = await o.transport({
      url,
      signal: abort.signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'ascend-sidecar-webhooks',
        ...(authorization ? { authorization } : {}),
        ...webhookHeaders(o.secret, o.eventId, o.payload, o.now),
      },
      body: o.payload,
    });
    if (status >= 200 && status < 300) return { status };
    return { status, error: status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}` };
  } catch (err) {
    if (abort.signal.aborted) return { error: `timed out after ${o.timeoutMs} ms` };
    return { error: failureText(err) };
  } finally {
    o.timers.clearTimeout(timer);
  }
}

/**
 * A url's `user:password@` as HTTP Basic credentials (the ServiceNow Table API takes them), sent
 * in Authorization instead: fetch refuses urls with credentials, and the url stays masked in logs.
 */
export function splitCredentials(raw: string): { url: string; authorization?: string } {
  const u = new URL(raw);
  if (u.username === '' && u.password === '') return { url: raw };
  const pair = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
  u.username = '';
  u.password = '';
  return { url: u.toString(), authorization: `Basic ${Buffer.from(pair, 'utf8').toString('base64')}` };
}

/** fetch wraps the network error in `cause`; node:http and the guard put it on the error. */
function failureText(err: unknown): string {
  const e = err as { name?: string; code?: string; message: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TargetRefused') return e.message;
  return e.cause?.code ?? e.cause?.message ?? e.code ?? e.message;
}
