/**
 * Canonical request paths. Authorizers get bypassed when they and the upstream disagree about
 * which path a request names (Envoy CVE-2019-9901, Istio CVE-2021-31920), so every adapter
 * matches, caches and logs the same canonical form:
 *
 * 1. the query is split off; a raw `#` is refused (clients never send fragments, and an
 *    upstream that does not strip one could read `/orders#/../../admin` as `/admin`);
 * 2. control characters (NUL, CR, LF, any < 0x20, DEL) are refused;
 * 3. `\` is a separator (some upstreams treat it as `/`);
 * 4. `;` matrix parameters are stripped from each segment (servlet containers ignore them);
 * 5. percent-escapes are decoded (RFC 3986 §6.2.2.2, extended to every octet so `%61dmin`
 *    and `admin` are one path); an encoded `/` or `\` (`%2F`, `%5C`, and double-encoded
 *    `%252F`, `%255C`) is refused unless `encodedSlashes: 'decode'` makes it a separator;
 *    decoded bytes must be UTF-8;
 * 6. empty segments are merged, `.` removed and `..` resolved (RFC 3986 §5.2.4), never above `/`;
 * 7. a trailing `/` is dropped (except for `/` itself);
 * 8. a decoded `%` or `;` is written back as `%25` / `%3B`, so the canonical form is a fixed
 *    point: canonicalizing it again changes nothing.
 */
import { RequestError } from '../core/errors.js';

export interface PathOptions {
  /** What to do with `%2F`, `%5C`, `%252F`, `%255C`. Default `reject`. */
  encodedSlashes: 'reject' | 'decode';
}

export const DEFAULT_PATH_OPTIONS: PathOptions = Object.freeze({ encodedSlashes: 'reject' });

/** A path that cannot be canonicalized safely; denied with HTTP 400. */
export class PathError extends RequestError {
  constructor(code: 'invalid_path' | 'encoded_slash' | 'invalid_encoding', message: string) {
    super(code, message);
    this.name = 'PathError';
  }
}

export interface SplitTarget {
  path: string;
  query: string;
}

/**
 * Where the target's query starts: the index of its first `?`, −1 for none. Refuses a control
 * character (rule 2) and a raw `#` (rule 1: a request target never carries a fragment). One pass
 * with no allocation: normalize() calls it on every request.
 */
export function queryIndex(target: string): number {
  let q = -1;
  let fragment = false;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new PathError('invalid_path', 'control character in request target');
    if (c === 0x3f) {
      if (q === -1) q = i;
    } else if (c === 0x23) fragment = true;
  }
  if (fragment) throw new PathError('invalid_path', 'fragment ("#") in request target');
  return q;
}

/** Splits `path?query` where {@link queryIndex} says, refusing what it refuses. */
export function splitTarget(target: string): SplitTarget {
  const q = queryIndex(target);
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** True when `raw` needs no work: no escapes, separators to merge, dot segments or params. */
function isAlreadyCanonical(raw: string): boolean {
  const n = raw.length;
  if (n === 0 || raw.charCodeAt(0) !== 0x2f) return false;
  let prev = 0x2f;
  for (let i = 1; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x21 || c === 0x7f || c === 0x25 /* % */ || c === 0x5c /* \ */ || c === 0x3b /* ; */) {
      return false;
    }
    if (c === 0x2f && prev === 0x2f) return false;
    if (c === 0x2e && prev === 0x2f) return false; // possible dot segment: take the slow path
    prev = c;
  }
  return n === 1 || prev !== 0x2f;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Decodes one segment's percent-escapes; `%2F`/`%5C` come back as `/` and `\`. */
function decodeSegment(seg: string, opts: PathOptions): string {
  if (seg.indexOf('%') === -1) return seg;
  const src = Buffer.from(seg, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as number;
    if (c !== 0x25) {
      out[n++] = c;
      continue;
    }
    const hi = hexVal(src[i + 1] ?? -1);
    const lo = hexVal(src[i + 2] ?? -1);
    if (hi < 0 || lo < 0) throw new PathError('invalid_encoding', 'malformed percent-escape in path');
    const b = hi * 16 + lo;
    if (b < 0x20 || b === 0x7f) throw new PathError('invalid_path', 'encoded control character in path');
    if ((b === 0x2f || b === 0x5c) && opts.encodedSlashes === 'reject') {
      throw new PathError('encoded_slash', 'encoded slash in path');
    }
    if (b === 0x25 && opts.encodedSlashes === 'reject') {
      // %252F decodes to %2F, which a second decoding upstream would turn into a separator.
      const h2 = hexVal(src[i + 3] ?? -1);
      const l2 = hexVal(src[i + 4] ?? -1);
      const b2 = h2 * 16 + l2;
      if (h2 >= 0 && l2 >= 0 && (b2 === 0x2f || b2 === 0x5c)) {
        throw new PathError('encoded_slash', 'double-encoded slash in path');
      }
    }
    out[n++] = b;
    i += 2;
  }
  try {
    return utf8.decode(out.subarray(0, n));
  } catch {
    throw new PathError('invalid_encoding', 'path is not valid UTF-8 after percent-decoding');
  }
}

/**
 * Returns the canonical form of a raw path (no query). Throws {@link PathError} for paths
 * that cannot be canonicalized safely; callers deny those with HTTP 400.
 */
export function canonicalPath(raw: string, opts: PathOptions = DEFAULT_PATH_OPTIONS): string {
  if (isAlreadyCanonical(raw)) return raw;
  if (raw.length === 0 || (raw.charCodeAt(0) !== 0x2f && raw.charCodeAt(0) !== 0x5c)) {
    throw new PathError('invalid_path', 'path must start with "/"');
  }
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new PathError('invalid_path', 'control character in path');
  }
  const decoded: string[] = [];
  for (const rawSeg of raw.split(/[/\\]/)) {
    const semi = rawSeg.indexOf(';');
    const seg = decodeSegment(semi === -1 ? rawSeg : rawSeg.slice(0, semi), opts);
    // In `decode` mode an escaped separator becomes a real one before dot resolution.
    if (seg.indexOf('/') !== -1 || seg.indexOf('\\') !== -1) decoded.push(...seg.split(/[/\\]/));
    else decoded.push(seg);
  }
  const out: string[] = [];
  for (const seg of decoded) {
    // `%252e%252e` decodes to `%2e%2e`: an upstream that decodes again would see `..`.
    if (seg.length > 2 && /^(?:\.|%2e)+$/i.test(seg) && seg.length - 2 * (seg.match(/%/g)?.length ?? 0) <= 2) {
      throw new PathError('invalid_encoding', 'double-encoded dot segment in path');
    }
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg.indexOf('%') === -1 && seg.indexOf(';') === -1 ? seg : seg.replace(/%/g, '%25').replace(/;/g, '%3B'));
  }
  return '/' + out.join('/');
}
