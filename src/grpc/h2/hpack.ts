/**
 * HPACK (RFC 7541) for a gRPC server: a decoder with its dynamic table, and the few constant
 * header blocks the server sends. Decoded strings are kept in the table, so a header the
 * client sends indexed (Envoy's and h2load's fixed headers, after the first request on a
 * connection) costs a table lookup and no allocation. The encoder side never indexes: it
 * writes literals, which is valid whatever table size the peer allows.
 */
import { huffmanDecode, type Latin1Buffer } from './huffman.js';

const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];

/** Receives each decoded field; `valid` is false for a name or value HTTP/2 forbids (RFC 9113 8.2.1). */
export interface HeaderSink {
  field(name: string, value: string, valid: boolean): void;
}

export class HpackError extends Error {}



/** RFC 9113 8.2.1: no uppercase, no controls, space or non-ASCII in a name; ':' only as a pseudo-header's first character. */
function validName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || (c >= 0x41 && c <= 0x5a) || (c === 0x3a && i > 0)) return false;
  }
  return true;
}

/** RFC 9113 8.2.1: no NUL, CR or LF in a value. */
function validValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}


export class HpackDecoder {
  // The dynamic table as a ring, newest entry at `head`.
  private names: string[] = [];
  private values: string[] = [];
  private valid: boolean[] = [];
  private nameValid: boolean[] = [];
  private head = 0;
  private count = 0;
  private mask = 0;
  private size = 0;
  private maxSize: number;
  // Position and end of the block being decoded (fields, not locals, so the helpers share them).
  private pos = 0;
  private end = 0;

  /** `limit`: SETTINGS_HEADER_TABLE_SIZE as this side advertised it (4096 unless sent). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
    const cap = 1 << Math.ceil(Math.log2(Math.max(2, Math.floor(limit / 32) + 1)));
    this.names = new Array<string>(cap).fill('');
    this.values = new Array<string>(cap).fill('');
    this.valid = new Array<boolean>(cap).fill(true);
    this.nameValid = new Array<boolean>(cap).fill(true);
    this.mask = cap - 1;
  }

  /** Decodes one whole header block; throws HpackError (a connection error, COMPRESSION_ERROR) on bad input. */
  decode(src: Buffer, start: number, end: number, sink: HeaderSink): void {
    this.pos = start;
    this.end = end;
    let first = true;
    while (this.pos < end) {
      const b = src[this.pos] as number;
      if (b & 0x80) {
        // Indexed field.
        const i = this.integer(src, 7);
        if (i === 0) throw new HpackError('index 0');
        this.emit(i, sink);
      } else if (b & 0x40) {
        // Literal with incremental indexing.
        const i = this.integer(src, 6);
        const name = i === 0 ? this.string(src) : this.nameAt(i);
        const value = this.string(src);
        const nameOk = i === 0 ? validName(name) : this.validAt(i);
        const ok = nameOk && validValue(value);
        this.insert(name, value, nameOk, ok);
        sink.field(name, value, ok);
      } else if (b & 0x20) {
        // Dynamic table size update: only before the first field of a block (RFC 7541 4.2).
        if (!first) throw new HpackError('table size update after a field');
        const n = this.integer(src, 5);
        if (n > this.limit) throw new HpackError(`table size ${n} over the ${this.limit} allowed`);
        this.maxSize = n;
        this.evict(n);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const i = this.integer(src, 4);
        const name = i === 0 ? this.string(src) : this.nameAt(i);
        const value = this.string(src);
        sink.field(name, value, (i === 0 ? validName(name) : this.validAt(i)) && validValue(value));
      }
      first = false;
    }
  }

  private emit(i: number, sink: HeaderSink): void {
    if (i <= 61) {
      const e = STATIC[i - 1] as readonly [string, string];
      sink.field(e[0], e[1], true); // the static table holds only valid fields
      return;
    }
    const at = this.slot(i);
    sink.field(this.names[at] as string, this.values[at] as string, this.valid[at] as boolean);
  }

  private nameAt(i: number): string {
    return i <= 61 ? (STATIC[i - 1] as readonly [string, string])[0] : (this.names[this.slot(i)] as string);
  }

  /** Whether the name at index `i` is valid (decided when its entry was added: a name is not rescanned per use). */
  private validAt(i: number): boolean {
    return i <= 61 ? true : (this.nameValid[this.slot(i)] as boolean);
  }

  private slot(i: number): number {
    const d = i - 62;
    if (d >= this.count) throw new HpackError(`index ${i} past the table`);
    return (this.head + d) & this.mask;
  }

  private insert(name: string, value: string, nameOk: boolean, ok: boolean): void {
    const size = name.length + value.length + 32;
    if (size > this.maxSize) {
      // Larger than the whole table: empties it (RFC 7541 4.4).
      this.count = 0;
      this.size = 0;
      return;
    }
    this.evict(this.maxSize - size);
    this.head = (this.head - 1) & this.mask;
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.valid[this.head] = ok;
    this.nameValid[this.head] = nameOk;
    this.count++;
    this.size += size;
  }

  /** Drops the oldest entries until the table holds at most `room` octets. */
  private evict(room: number): void {
    while (this.size > room && this.count > 0) {
      const at = (this.head + this.count - 1) & this.mask;
      this.size -= (this.names[at] as string).length + (this.values[at] as string).length + 32;
      this.names[at] = this.values[at] = '';
      this.count--;
    }
  }

  /** An integer with an N-bit prefix (RFC 7541 5.1), at most 2^28. */
  private integer(src: Buffer, bits: number): number {
    const max = (1 << bits) - 1;
    let v = (src[this.pos++] as number) & max;
    if (v < max) return v;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.end) throw new HpackError('truncated integer');
      if (shift > 21) throw new HpackError('integer too large');
      const b = src[this.pos++] as number;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
  }

  /** A string literal (RFC 7541 5.2), Latin-1 like node:http2's. */
  private string(src: Buffer): string {
    if (this.pos >= this.end) throw new HpackError('truncated string');
    const huffman = ((src[this.pos] as number) & 0x80) !== 0;
    const len = this.integer(src, 7);
    const start = this.pos;
    if (len > this.end - start) throw new HpackError('string past the block');
    this.pos = start + len;
    if (!huffman) return (src as Latin1Buffer).latin1Slice(start, start + len);
    const s = huffmanDecode(src, start, start + len);
    if (s === undefined) throw new HpackError('invalid Huffman string');
    return s;
  }
}

/** An integer with an N-bit prefix after `flags` in the first byte (RFC 7541 5.1). */
function integer(flags: number, bits: number, v: number): number[] {
  const max = (1 << bits) - 1;
  if (v < max) return [flags | v];
  const out = [flags | max];
  let n = v - max;
  while (n >= 128) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** An HPACK string, raw (no Huffman). */
function stringLiteral(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(integer(0, 7, bytes.length)), bytes]);
}

/** A literal field without indexing (RFC 7541 6.2.2): a new name, or static entry `name` by index. */
export function literal(name: string | number, value: string): Buffer {
  const head = typeof name === 'number' ? Buffer.from(integer(0, 4, name)) : Buffer.concat([Buffer.from([0]), stringLiteral(name)]);
  return Buffer.concat([head, stringLiteral(value)]);
}

/** Static table indexes of the names the server sends. */
export const STATIC_INDEX = { status: 8, contentType: 31 } as const;

/** `:status 200` (static entry 8), indexed. */
export const STATUS_200 = Buffer.from([0x88]);
