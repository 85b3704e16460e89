/**
 * How one webhook POST reaches its receiver. Two transports:
 *
 * - fetchTransport: Node's global `fetch` (undici) for the config's subscriptions. With
 *   `redirect: 'manual'` it hands back a 3xx instead of following it (a redirect would send a
 *   signed event to a host the operator never configured). Injected, so tests replace it.
 * - guardedTransport: node:http(s) for subscriptions made through the API, because the global
 *   fetch takes no `lookup` and the SSRF guard must see the addresses the connection uses
 *   (target-guard.ts). A new connection per delivery (`agent: false`): a pooled socket opened
 *   while private targets were allowed must not outlive that setting. node:http never follows
 *   redirects.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkLiteral, guardedLookup, type ResolveAll } from './target-guard.js';

export interface WebhookPost {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly signal: AbortSignal;
}

/** Sends one POST; resolves to the answer's status (its body is discarded), rejects on a network failure. */
export type WebhookTransport = (post: WebhookPost) => Promise<number>;

export function fetchTransport(f: typeof fetch): WebhookTransport {
  return async (p) => {
    const res = await f(p.url, { method: 'POST', redirect: 'manual', signal: p.signal, headers: p.headers, body: p.body });
    await res.body?.cancel().catch(() => {}); // the answer's body is not needed; free the socket
    return res.status;
  };
}

export interface GuardedTransportOptions {
  /** api.allow_private_webhook_targets, read at every delivery (a reload applies at once). */
  readonly allowPrivate: () => boolean;
  /** DNS resolution (tests simulate rebinding); default dns.lookup. */
  readonly resolve?: ResolveAll;
}

export function guardedTransport(o: GuardedTransportOptions): WebhookTransport {
  const lookup = guardedLookup(o.resolve);
  return (p) => new Promise<number>((resolve, reject) => {
    const u = new URL(p.url);
    const guard = !o.allowPrivate();
    if (guard) checkLiteral(u);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(u, {
      method: 'POST', agent: false, signal: p.signal,
      headers: { ...p.headers, 'content-length': String(Buffer.byteLength(p.body)) },
      ...(guard ? { lookup } : {}),
    }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(p.body);
  });
}
