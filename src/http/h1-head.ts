/**
 * The request head of the strict HTTP/1.1 subset the gateway server (h1-server.ts) answers
 * itself (RFC 9112 §2–§6): `METHOD SP origin-form SP HTTP/1.1 CRLF`, then `name: value CRLF`
 * lines, then CRLF. Everything else is not parsed here but handed, bytes and all, to node's
 * own parser (llhttp), which answers it as it always did.
 *
 * Why so strict: when two parsers on one path read a request differently, one of them can be
 * made to see a request the other does not (request smuggling, CL.TE / TE.CL, RFC 9112 §11.2).
 * So this parser takes only what cannot be read two ways and refuses the rest before anything
 * is answered: any Transfer-Encoding, a Content-Length that is not one run of digits or comes
 * twice, any header that comes twice, obs-fold, a bare CR or LF, whitespace before the colon or
 * after the value, a byte outside visible ASCII in a value, an absolute or asterisk target,
 * HTTP/1.0, Expect, Upgrade, a Connection other than `keep-alive` or `close`, a missing Host,
 * a head over the byte or line limit. A refused head is node:http's to answer (400, 431, 501,
 * or a normal answer through fastify): the only cost is speed.
 */
import { latin1, StringIntern } from '../shared/string-intern.js';

/** The head needs more bytes. */
export const MORE = 0;
/** Not the strict subset: node:http must read this request. */
export const HAND_OFF = 1;

export interface Head {
  readonly method: string;
  /** The request target as sent (node's `req.url`). */
  readonly url: string;
  /** Lower-case names, values as sent without the surrounding whitespace (node's `req.headers`). */
  readonly headers: Record<string, string>;
  /** How many header lines. */
  readonly count: number;
  /** The Content-Length, 0 without one. */
  readonly bodyLength: number;
  /** `Connection: close`: the connection ends with this request's answer. */
  readonly close: boolean;
  /** Index just past the blank line: where the body starts. */
  readonly end: number;
}

export interface HeadLimits {
  /** The whole head, request line and line ends included (node's maxHeaderSize counts less: this is stricter). */
  readonly maxHeaderBytes: number;
  /** Header lines. */
  readonly maxHeaders: number;
  /** The methods some route answers; a request with another is node's at once. */
  readonly methods: ReadonlySet<string>;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const SLASH = 0x2f;
const CRLFCRLF = Buffer.from('\r\n\r\n');
/** What follows the request target: the version and the request line's end. */
const VERSION_LINE = Buffer.from(' HTTP/1.1\r\n');

/** tchar (RFC 9110 §5.6.2): the bytes of a header name. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
/** Bytes of a header value here: visible ASCII, space and tab (no obs-text, no controls). */
const VCHAR = new Uint8Array(256);
for (let b = 0x20; b <= 0x7e; b++) VCHAR[b] = 1;
VCHAR[HTAB] = 1;

const DIGITS = /^[0-9]{1,15}$/;

/** Bytes to their lower case (A–Z; every other byte as is). */
const LOWER = new Uint8Array(256);
for (let b = 0; b < 256; b++) LOWER[b] = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;

/** The names whose presence or value the head's checks read (besides the count and repeats). */
const enum Role {
  Other,
  Host,
  /** Transfer-Encoding, Expect, Upgrade, Set-Cookie: a head with one is node's. */
  Refused,
  Connection,
  ContentLength,
}

const ROLES: ReadonlyMap<string, Role> = new Map([
  ['host', Role.Host], ['transfer-encoding', Role.Refused], ['expect', Role.Refused], ['upgrade', Role.Refused],
  // Set-Cookie: node's req.headers holds it as a list, never a string (and no client sends it).
  ['set-cookie', Role.Refused], ['connection', Role.Connection], ['content-length', Role.ContentLength],
]);

/**
 * A header name: kept, with the parse that last met it (a second time in one head is a
 * repeat), or made for one line (not kept). `role` spares the head's checks a lookup per name
 * in the header map after the lines are read (by a map whose shape varies with the request:
 * megamorphic loads).
 */
interface HeaderName {
  readonly name: string;
  readonly role: Role;
  seen: number;
  /**
   * The value this name last had (kept names, values up to VALUES.maxBytes): a gateway
   * sends most headers with the value of the request before, and bytes equal to it, followed
   * by CRLF, are that value without scanning, hashing and looking it up again. It was a valid
   * value when it came (visible ASCII, no whitespace at either end), so the same bytes are.
   */
  last: string | undefined;
}

/**
 * Lower-case header names seen so far, by a hash of their lower-cased bytes. A request's names
 * are the same few on every request from a gateway; taking the kept string skips, per header,
 * a string made from the bytes, its lower-casing, and its lookup in V8's string table when it
 * becomes a property name (together ~10 % of the head's cost in a profile). A kept name's
 * `seen` finds it repeated within a head without a lookup in the head's header map (by a name
 * that varies per line: a megamorphic load, ~6 % of the head's cost). Bounded: names past the
 * bound (or a hash two names share) take the long way, with the same result.
 */
const NAMES = new Map<number, HeaderName>();
const MAX_NAMES = 512;
/** Counts parseHead calls: a kept name whose `seen` is this one was met in this head already. */
let parses = 0;

/**
 * The name in `buf[start..end]` (tchar bytes), lower-case, `hash` the FNV-1a of its lower-cased
 * bytes; undefined when `headers` has it already — a repeated name, or one every object has
 * (`__proto__`, `constructor`: never kept, so always looked up).
 */
function headerName(buf: Buffer, start: number, end: number, hash: number, headers: Record<string, string>): HeaderName | undefined {
  const kept = NAMES.get(hash);
  if (kept !== undefined && kept.name.length === end - start) {
    const k = kept.name;
    let j = 0;
    while (j < k.length && LOWER[buf[start + j]!] === k.charCodeAt(j)) j++;
    if (j === k.length) {
      if (kept.seen === parses) return undefined;
      kept.seen = parses;
      return kept;
    }
  }
  const name = latin1(buf, start, end).toLowerCase();
  if (headers[name] !== undefined) return undefined;
  const role = ROLES.get(name) ?? Role.Other;
  // Kept as met in this head: a repeat of it later in the head is found by `seen`.
  if (kept === undefined && NAMES.size < MAX_NAMES) {
    const k: HeaderName = { name: internalized(name), role, seen: parses, last: undefined };
    NAMES.set(hash, k);
    return k;
  }
  return { name, role, seen: parses, last: undefined };
}

/**
 * The methods some route answers, as met (at most as many as the routes name): the request
 * line's method compared byte by byte against them rather than made a new string each time
 * and hashed for the set's lookup.
 */
const METHODS: string[] = [];

/** The method in `buf[start..end]`; undefined when no route answers it. */
function methodOf(buf: Buffer, start: number, end: number, methods: ReadonlySet<string>): string | undefined {
  const n = end - start;
  for (let i = 0; i < METHODS.length; i++) {
    const m = METHODS[i]!;
    if (m.length !== n) continue;
    let j = 0;
    while (j < n && buf[start + j] === m.charCodeAt(j)) j++;
    if (j === n && methods.has(m)) return m;
  }
  const method = latin1(buf, start, end);
  if (!methods.has(method)) return undefined;
  if (METHODS.length < MAX_METHODS && !METHODS.includes(method)) METHODS.push(internalized(method));
  return method;
}
const MAX_METHODS = 16;

/**
 * Short header values (and request targets) seen lately: a gateway sends the same target, host,
 * agent id, user agent and forwarded host on request after request, and a kept string spares a
 * call into C++ and a new string per header. Second chance: values sent once (request ids,
 * trace ids) pass through without pushing out the ones that repeat. Bounded: 1,024 strings of
 * at most 64 bytes.
 */
const VALUES = new StringIntern(1024, 64, { latin1: true, secondChance: true });
/** The last short request target read (visible ASCII, no space). */
let lastUrl = '';

/** `s` as V8's one copy of it (a property name's), so a header map keyed by it needs no lookup. */
function internalized(s: string): string {
  return Object.keys({ [s]: 0 })[0]!;
}


/**
 * Parses the head starting at `start` in `buf` (which ends at `length`). Returns the head,
 * {@link MORE} when the blank line has not arrived yet (the bytes so far may still be the
 * subset), or {@link HAND_OFF}. `scanFrom`: where the previous call stopped looking for the
 * blank line (a trickled head is searched once, not once per byte).
 */
export function parseHead(buf: Buffer, start: number, length: number, limits: HeadLimits, scanFrom = start): Head | typeof MORE | typeof HAND_OFF {
  const first = buf[start]!;
  // A method is upper-case letters: a TLS ClientHello (0x16), HTTP/2's preface and garbage go to node now.
  if (first < 0x41 || first > 0x5a) return HAND_OFF;
  const blank = buf.indexOf(CRLFCRLF, Math.max(start, scanFrom - 3));
  if (blank === -1 || blank + 4 > length) {
    if (length - start > limits.maxHeaderBytes) return HAND_OFF;
    // A bare LF or CR so far: node decides what it means (400), now rather than at the timeout.
    for (let i = buf.indexOf(LF, Math.max(start, scanFrom)); i !== -1 && i < length; i = buf.indexOf(LF, i + 1)) if (i === start || buf[i - 1] !== CR) return HAND_OFF;
    for (let i = buf.indexOf(CR, Math.max(start, scanFrom - 1)); i !== -1 && i + 1 < length; i = buf.indexOf(CR, i + 1)) if (buf[i + 1] !== LF) return HAND_OFF;
    return MORE;
  }
  const end = blank + 4;
  if (end - start > limits.maxHeaderBytes) return HAND_OFF;

  // Request line, byte by byte in JS: a Buffer method per field (indexOf, compare) is a call into C++ each.
  let sp = start;
  while (sp < end && buf[sp] !== SP) sp++;
  const method = methodOf(buf, start, sp, limits.methods);
  if (method === undefined) return HAND_OFF;
  if (buf[sp + 1] !== SLASH) return HAND_OFF;
  // The target is visible ASCII up to the space before the version; kept as a short value is.
  // The last request's target first, as a header name's last value: a gateway's sidecar sees one
  // endpoint's target over and over (the comparison stops at the blank line's CR at the latest).
  let url = lastUrl;
  let targetEnd = sp + 1;
  let j = 0;
  while (j < url.length && buf[targetEnd + j] === url.charCodeAt(j)) j++;
  if (j === url.length && buf[targetEnd + j] === SP) targetEnd += j;
  else {
    while (buf[targetEnd]! > SP && buf[targetEnd]! < 0x7f) targetEnd++;
    url = VALUES.decode(buf, sp + 1, targetEnd);
    if (targetEnd - sp - 1 <= VALUES.maxBytes) lastUrl = url;
  }
  for (let k = 0; k < VERSION_LINE.length; k++) if (buf[targetEnd + k] !== VERSION_LINE[k]) return HAND_OFF;

  // Header lines, up to the blank line. Every scan below stops at the latest at the blank
  // line's CR: no name byte, no value byte is a CR.
  const headers: Record<string, string> = {};
  let count = 0;
  parses++;
  let host = false;
  let connection: string | undefined;
  let cl: string | undefined;
  for (let pos = targetEnd + VERSION_LINE.length; pos < end - 2;) {
    let i = pos;
    let hash = 0x811c9dc5;
    for (let b = buf[i]!; TCHAR[b] === 1; b = buf[++i]!) hash = Math.imul(hash ^ LOWER[b]!, 0x01000193);
    // No name (an obs-fold line starts with a space), or anything but a colon right after it.
    if (i === pos || buf[i] !== COLON) return HAND_OFF;
    const name = headerName(buf, pos, i, hash, headers);
    // Twice (and `__proto__` or `constructor`, which a plain object already "has"): node's.
    if (name === undefined || ++count > limits.maxHeaders) return HAND_OFF;
    let v = i + 1;
    while (buf[v] === SP || buf[v] === HTAB) v++;
    // The name's value of the request before, when these bytes are it (no CR in it: every
    // comparison stops at the latest at the blank line).
    let value = name.last;
    let eol = v;
    if (value !== undefined) {
      const n = value.length;
      let j = 0;
      while (j < n && buf[v + j] === value.charCodeAt(j)) j++;
      if (j === n && buf[v + n] === CR && buf[v + n + 1] === LF) eol = v + n;
      else value = undefined;
    }
    if (value === undefined) {
      while (VCHAR[buf[eol]!] === 1) eol++;
      // The value ends at CRLF: a bare CR or LF, a control byte or obs-text is node's.
      if (buf[eol] !== CR || buf[eol + 1] !== LF) return HAND_OFF;
      if (eol > v && (buf[eol - 1] === SP || buf[eol - 1] === HTAB)) return HAND_OFF;
      value = VALUES.decode(buf, v, eol);
      if (eol - v <= VALUES.maxBytes) name.last = value;
    }
    headers[name.name] = value;
    switch (name.role) {
      case Role.Other: break;
      case Role.Host: host = true; break;
      case Role.Refused: return HAND_OFF;
      case Role.Connection: connection = value; break;
      case Role.ContentLength: cl = value; break;
    }
    pos = eol + 2;
  }

  if (!host) return HAND_OFF;
  let close = false;
  if (connection !== undefined) {
    const c = connection.toLowerCase();
    if (c === 'close') close = true;
    else if (c !== 'keep-alive') return HAND_OFF;
  }
  let bodyLength = 0;
  if (cl !== undefined) {
    if (!DIGITS.test(cl)) return HAND_OFF;
    bodyLength = Number(cl);
  }
  return { method, url, headers, count, bodyLength, close, end };
}
