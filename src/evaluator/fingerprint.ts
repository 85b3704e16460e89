/**
 * The decision-cache key: an unambiguous (JSON-encoded) list of every input the decision
 * depends on — agent, action type, resource, parameters, and each `context.*` / `request.*`
 * value that a policy condition or the risk model reads (binding.ts) — led by the config
 * version, so a reload can never serve a decision made under an older config.
 *
 * The cache itself is keyed by the key's SHA-256 (cache.ts). `digest` computes that without
 * building the key as a string on the common path: the key's UTF-8 bytes — exactly those of
 * the JSON text `key()` returns, which is what hashing the string hashed — are written into a
 * reused buffer when every value is one JSON writes verbatim (strings of printable ASCII
 * without `"` or `\`, finite numbers, booleans, null, and parameters that are a plain object
 * of such values); anything else takes the JSON.stringify path. Building the string cost
 * ~5,800 instructions and comparing it with the last key ~900 (bench/README, optimizations log).
 */
import { hash } from 'node:crypto';
import type { EvalInput } from '../core/action.js';
import type { Getter } from '../policy/paths.js';
import { NullObject } from '../shared/null-object.js';
import { compileBoundPaths } from './binding.js';

export interface Fingerprinter {
  /** The key, as text. */
  (input: EvalInput): string;
  /**
   * The SHA-256 (32 latin1 characters, as DigestLru takes it) of the key followed by `suffix`
   * (the A/B variants, policy/ab.ts keySuffix; '' for none): the digest of the same UTF-8 bytes
   * as `hash('sha256', key(input) + suffix)`. The last key's digest is remembered: a miss is
   * followed by a set of the same key, and a burst of one request repeats it.
   */
  digest(input: EvalInput, suffix: string): string;
}

const OBJECT_PROTO = Object.prototype as object;
const NULL_OBJECT_PROTO = NullObject.prototype as object;
const hasOwn = Object.prototype.hasOwnProperty;

/** The bytes of `"`, `,` and `:`. */
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;

export function createFingerprinter(version: number, reads: Iterable<string>): Fingerprinter {
  const getters = compileBoundPaths(reads).map((b) => b.get);
  // One list filled per call and serialized at once (synchronous: no call can see another's
  // values): no array per check, and the version inside the JSON rather than concatenated in
  // front, so the key is one flat string.
  // Grown by push, not `new Array(n)`: a holey array takes JSON.stringify's slow path.
  const parts: unknown[] = [version];
  const n = 5 + getters.length;
  for (let i = 1; i < n; i++) parts.push(null);

  const key = (input: EvalInput): string => {
    const a = input.action;
    const pk = input.parametersKey;
    // parameters are objects, so `null` in their place plus the length-prefixed key after a NUL
    // (which JSON never contains unescaped) cannot collide with any other input's key.
    let k: string;
    try {
      parts[1] = a.agent_id;
      parts[2] = a.action_type;
      parts[3] = a.resource;
      parts[4] = pk === undefined ? a.parameters : null;
      for (let i = 0; i < getters.length; i++) parts[5 + i] = (getters[i] as Getter)(input);
      k = JSON.stringify(parts);
    } finally {
      // Emptied again (also when a getter throws: body_truncated): the list outlives the
      // call, and would keep this request's parameters and context values (and any string
      // sliced from its body) alive until the next check.
      for (let i = 1; i < n; i++) parts[i] = null;
    }
    return pk === undefined ? k : `${k}\u0000${pk.length}:${pk}`;
  };

  // The bytes path: `buf` holds this key, `last` the last digested one (swapped, never copied).
  let buf = new Uint8Array(256);
  let last = new Uint8Array(256);
  let len = 0;
  let lastLen = -1;
  let lastDigest = '';
  // The JSON.stringify path's memo.
  let lastKey = '';
  let lastKeyDigest = '';
  const prefix = `[${JSON.stringify(version)}`;

  const room = (extra: number): void => {
    if (len + extra <= buf.length) return;
    const bigger = new Uint8Array(Math.max(buf.length * 2, len + extra));
    bigger.set(buf.subarray(0, len));
    buf = bigger;
  };
  const byte = (b: number): void => {
    if (len === buf.length) room(1);
    buf[len++] = b;
  };
  /** `s` as-is (its characters are ASCII); false for a character JSON would escape or UTF-8 would widen. */
  const ascii = (s: string): boolean => {
    const m = s.length;
    room(m);
    const b = buf;
    let at = len;
    for (let i = 0; i < m; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === QUOTE || c === 0x5c || c > 0x7f) return false;
      b[at++] = c;
    }
    len = at;
    return true;
  };
  /** One value as JSON.stringify writes it in a list; false when it would not be written verbatim. */
  const scalar = (v: unknown): boolean => {
    if (typeof v === 'string') {
      byte(QUOTE);
      if (!ascii(v)) return false;
      byte(QUOTE);
      return true;
    }
    if (v === null || v === undefined) return ascii('null');
    if (typeof v === 'number') return Number.isFinite(v) && ascii(String(v));
    if (typeof v === 'boolean') return ascii(v ? 'true' : 'false');
    return false;
  };
  /** A plain object of scalars (no toJSON, no nesting) as JSON.stringify writes it. */
  const flatObject = (o: unknown): boolean => {
    if (o === null || typeof o !== 'object') return false;
    const proto = Object.getPrototypeOf(o) as object | null;
    if (proto !== OBJECT_PROTO && proto !== null && proto !== NULL_OBJECT_PROTO) return false;
    if (typeof (o as { toJSON?: unknown }).toJSON === 'function') return false;
    byte(0x7b);
    let first = true;
    // for-in visits own enumerable string keys in JSON.stringify's order (integer keys
    // ascending, then insertion order); inherited ones (none, short of a polluted prototype)
    // are skipped as JSON skips them.
    for (const k in o) {
      if (!hasOwn.call(o, k)) continue;
      const v = (o as Record<string, unknown>)[k];
      if (v === undefined) continue;
      if (!first) byte(COMMA);
      first = false;
      byte(QUOTE);
      if (!ascii(k)) return false;
      byte(QUOTE);
      byte(COLON);
      if (!scalar(v)) return false;
    }
    byte(0x7d);
    return true;
  };
  /** The key's bytes into `buf`; false when a value needs the JSON.stringify path. */
  const write = (input: EvalInput, suffix: string): boolean => {
    if (input.parametersKey !== undefined) return false;
    const a = input.action;
    len = 0;
    if (!ascii(prefix)) return false;
    byte(COMMA);
    if (!scalar(a.agent_id)) return false;
    byte(COMMA);
    if (!scalar(a.action_type)) return false;
    byte(COMMA);
    if (!scalar(a.resource)) return false;
    byte(COMMA);
    if (!flatObject(a.parameters)) return false;
    for (let i = 0; i < getters.length; i++) {
      byte(COMMA);
      if (!scalar((getters[i] as Getter)(input))) return false;
    }
    byte(0x5d);
    return suffix === '' || ascii(suffix);
  };

  const digest = (input: EvalInput, suffix: string): string => {
    if (!write(input, suffix)) {
      const k = key(input) + suffix;
      if (k !== lastKey || lastKeyDigest === '') {
        lastKeyDigest = hash('sha256', k, 'binary');
        lastKey = k;
      }
      return lastKeyDigest;
    }
    if (len === lastLen) {
      const b = buf;
      const l = last;
      let i = 0;
      while (i < len && b[i] === l[i]) i++;
      if (i === len) return lastDigest;
    }
    lastDigest = hash('sha256', buf.subarray(0, len), 'binary');
    const t = last;
    last = buf;
    buf = t;
    lastLen = len;
    return lastDigest;
  };

  return Object.assign(key, { digest });
}
