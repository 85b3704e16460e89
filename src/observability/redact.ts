/**
 * What never reaches a log: the values of secret headers, and of secret query parameters in
 * any request target or URL we print (the decision log's `raw_target` and headers, error logs,
 * the logger's own `headers` objects). One list, from `decision_log.redact` plus the built-in
 * defaults below, which a config can extend but not shrink: a typo in an operator's list must
 * never un-mask `authorization`.
 *
 * Query keys match case-insensitively, after percent-decoding, on both `&` and `;` separators
 * (some servers split on `;`); the key is kept and the value replaced, so the log still says
 * which parameters came. A target whose query holds no listed key is returned as it is — the
 * same string, no allocation — because the decision log calls this on every line; for a
 * normalized request the decoded keys of its parsed query answer that without reading the text.
 */
import type { QueryMap } from '../gateway/request.js';

export const REDACTED = '[REDACTED]';

/** Query parameters that carry credentials in common APIs (OAuth, signed URLs, API keys). */
export const DEFAULT_REDACTED_QUERY_KEYS: readonly string[] = [
  'access_token', 'refresh_token', 'id_token', 'token', 'auth', 'jwt', 'assertion', 'code',
  'apikey', 'api_key', 'api-key', 'key', 'private_token', 'secret', 'client_secret', 'password', 'passwd', 'pwd',
  'session', 'sessionid', 'sid', 'sig', 'signature', 'x-amz-signature', 'x-amz-security-token', 'x-amz-credential',
  'x-goog-signature', 'x-goog-credential',
];

/** Request headers that carry credentials. */
export const DEFAULT_REDACTED_HEADERS: readonly string[] = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'apikey', 'api-key',
  'x-auth-token', 'x-access-token', 'x-vault-token', 'x-ascend-gateway-token', 'x-csrf-token', 'x-xsrf-token',
  'x-amz-security-token', 'x-goog-api-key', 'private-token', 'x-gitlab-token', 'x-shopify-access-token',
];

/** Body members that carry credentials: the query keys plus the names JSON APIs use. */
export const DEFAULT_REDACTED_BODY_KEYS: readonly string[] = [
  ...DEFAULT_REDACTED_QUERY_KEYS, 'authorization', 'accesstoken', 'refreshtoken', 'clientsecret', 'apikey', 'credentials',
  'private_key', 'privatekey', 'passphrase', 'card_number', 'cvv', 'cvc', 'ssn',
];

/** Headers whose value is a request target or URL: their query is masked like a target's. */
const URL_HEADERS = new Set([':path', 'referer', 'x-original-uri', 'x-forwarded-uri', 'x-original-url', 'x-envoy-original-path']);

export interface RedactionConfig {
  /** Added to DEFAULT_REDACTED_QUERY_KEYS. */
  readonly query: readonly string[];
  /** Added to DEFAULT_REDACTED_HEADERS. */
  readonly headers: readonly string[];
  /** Added to DEFAULT_REDACTED_BODY_KEYS. */
  readonly body_keys?: readonly string[];
}

const isSeparator = (c: number): boolean => c === 0x26 /* & */ || c === 0x3b /* ; */;

export class Redaction {
  /** Listed query keys, lower case. */
  private readonly keys: ReadonlySet<string>;
  /** The same by length, so most raw keys are rejected without a comparison. */
  private readonly byLength: (readonly string[] | undefined)[] = [];
  private readonly headerSet: ReadonlySet<string>;
  /** Every header name masked, for the logger's path-based redaction. */
  readonly headerNames: readonly string[];
  private readonly bodyKeys: ReadonlySet<string>;

  constructor(config: RedactionConfig = { query: [], headers: [] }) {
    this.keys = new Set([...DEFAULT_REDACTED_QUERY_KEYS, ...config.query].map((k) => k.toLowerCase()));
    for (const k of this.keys) this.byLength[k.length] = [...(this.byLength[k.length] ?? []), k];
    this.headerSet = new Set([...DEFAULT_REDACTED_HEADERS, ...config.headers].map((h) => h.toLowerCase()));
    this.headerNames = [...this.headerSet];
    this.bodyKeys = new Set([...DEFAULT_REDACTED_BODY_KEYS, ...(config.body_keys ?? [])].map((k) => k.toLowerCase()));
  }

  /**
   * A copy of a parsed body with the value of every listed member (any case, at any depth,
   * objects and lists alike) replaced by [REDACTED]. Iterative: the body's depth is capped
   * (limits.max_json_depth) but a log writer must not depend on that.
   */
  body(value: unknown): unknown {
    const copy = (v: unknown): unknown => (v === null || typeof v !== 'object' ? v : Array.isArray(v) ? [...v] : { ...v });
    const root = { v: copy(value) };
    const stack: object[] = [root];
    while (stack.length > 0) {
      const node = stack.pop() as Record<string, unknown>;
      for (const k of Object.keys(node)) {
        if (!Array.isArray(node) && node !== root && this.bodyKeys.has(k.toLowerCase())) {
          node[k] = REDACTED;
          continue;
        }
        const c = copy(node[k]);
        node[k] = c;
        if (c !== null && typeof c === 'object') stack.push(c);
      }
    }
    return root.v;
  }

  /** `path?query` or an absolute URL with listed query values masked; the same string when none is listed. */
  target(t: string): string {
    const q = t.indexOf('?');
    if (q < 0) return t;
    const end = t.indexOf('#', q);
    const stop = end < 0 ? t.length : end;
    let out: string | undefined;
    let copied = 0;
    let from = q + 1;
    let eq = -1;
    // One pass, remembering each pair's first `=`: linear in the target, whatever its shape.
    for (let i = from; i <= stop; i++) {
      const c = i < stop ? t.charCodeAt(i) : 0x26;
      if (c === 0x3d /* = */) {
        if (eq < 0) eq = i;
        continue;
      }
      if (!isSeparator(c)) continue;
      if (eq > from && eq + 1 < i && this.listed(t, from, eq)) {
        out = (out ?? '') + t.slice(copied, eq + 1) + REDACTED;
        copied = i;
      }
      from = i + 1;
      eq = -1;
    }
    return out === undefined ? t : out + t.slice(copied);
  }

  /**
   * A normalized request's raw target: when no decoded key of its parsed `query` is listed, the
   * target is returned without a pass over its text (a few set lookups: the decision log's case).
   */
  requestTarget(rawTarget: string, query: QueryMap): string {
    for (const k in query) if (this.keys.has(k) || this.keys.has(k.toLowerCase())) return this.target(rawTarget);
    // The parsed query splits on `&` only: a `;`-separated pair would hide inside a value.
    return rawTarget.indexOf(';') < 0 ? rawTarget : this.target(rawTarget);
  }

  /** A copy of `headers` with secret values masked and the query of URL-valued headers masked. */
  headers(headers: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k in headers) {
      const v = headers[k] as string;
      out[k] = this.headerSet.has(k) ? REDACTED : URL_HEADERS.has(k) ? this.target(v) : v;
    }
    return out;
  }

  /** Is t[from, eq) a listed key? Compared in place (ASCII case folded); decoded only if escaped. */
  private listed(t: string, from: number, eq: number): boolean {
    const n = eq - from;
    for (let i = from; i < eq; i++) {
      const c = t.charCodeAt(i);
      if (c === 0x25 /* % */ || c === 0x2b /* + */) return this.listedDecoded(t.slice(from, eq));
    }
    const candidates = this.byLength[n];
    if (candidates === undefined) return false;
    for (const k of candidates) {
      let i = 0;
      for (; i < n; i++) {
        let c = t.charCodeAt(from + i);
        if (c >= 0x41 && c <= 0x5a) c += 0x20;
        if (c !== k.charCodeAt(i)) break;
      }
      if (i === n) return true;
    }
    return false;
  }

  /** Decoded as the gateway's query parser decodes keys (a malformed escape stays as it is). */
  private listedDecoded(raw: string): boolean {
    let key = raw.replace(/\+/g, ' ');
    try {
      key = decodeURIComponent(key);
    } catch {
      // kept verbatim, like parseQuery
    }
    return this.keys.has(key.toLowerCase());
  }
}

/**
 * A URL that may itself be a secret (a webhook URL: Slack, Teams and many others put the token
 * in the path) as it may be shown or logged: `scheme://host[:port]/…`, without user info, path,
 * query or fragment (`/` alone when there is nothing to hide).
 */
export function maskUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '[invalid url]';
  }
  const bare = u.pathname === '/' && u.search === '' && u.hash === '' && u.username === '' && u.password === '';
  return `${u.protocol}//${u.host}/${bare ? '' : '…'}`;
}

/** `text` with every occurrence of `url` masked (an error message that quotes it). */
export function maskUrlIn(text: string, url: string): string {
  return url === '' ? text : text.split(url).join(maskUrl(url));
}

/** The defaults alone (before a config is loaded, and for tests). */
export const DEFAULT_REDACTION = new Redaction();
