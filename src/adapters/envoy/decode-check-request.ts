/**
 * A hand-written CheckRequest decoder that reads only what a decision needs (method, path,
 * host, scheme, headers, peer address and principal, request id, body, context extensions,
 * metadata) straight from the wire, instead of building proto-loader's full object tree.
 * Field numbers: envoy/service/auth/v3/attribute_context.proto (see protos/).
 *
 * It never throws: grpc-js would turn a deserializer exception into a gRPC error, which
 * Envoy resolves with its own failure_mode_allow. Undecodable input comes back as
 * `{ decodeError }` and is denied as a malformed request.
 */
import protobuf from 'protobufjs/minimal.js';
import { nullObject } from '../../shared/null-object.js';
import { StringIntern } from './string-intern.js';

const { Reader } = protobuf;
type R = protobuf.Reader;

/** Header names and values, method, scheme, host: the strings that repeat (string-intern.ts). */
const repeated = new StringIntern();

/** A length-delimited string through the intern table (Reader.string() decodes every time). */
function str(r: R): string {
  const len = r.uint32();
  const start = r.pos;
  const end = start + len;
  if (end > r.len) throw new RangeError(`index out of range: ${start} + ${len} > ${r.len}`);
  r.pos = end;
  return repeated.decode(r.buf as Buffer, start, end);
}

export interface EnvoyCheck {
  id: string;
  method: string;
  path: string;
  host: string;
  scheme: string;
  protocol: string;
  size: number;
  body: string;
  headers: Record<string, string>;
  sourceAddress: string | undefined;
  sourcePrincipal: string | undefined;
  destinationPrincipal: string | undefined;
  contextExtensions: Record<string, string> | undefined;
  /** metadata_context.filter_metadata as plain JSON, keyed by filter name. */
  metadata: Record<string, unknown> | undefined;
  routeMetadata: Record<string, unknown> | undefined;
  sni: string | undefined;
}

export interface DecodeFailure {
  decodeError: string;
}

const MAX_DEPTH = 32;

function newCheck(): EnvoyCheck {
  return {
    id: '', method: '', path: '', host: '', scheme: '', protocol: '', size: -1, body: '',
    headers: nullObject<string>(),
    sourceAddress: undefined, sourcePrincipal: undefined, destinationPrincipal: undefined,
    contextExtensions: undefined, metadata: undefined, routeMetadata: undefined, sni: undefined,
  };
}

/**
 * Reads a map<string,string> entry (key = 1, value = 2) into `into`; `headers` lower-cases
 * the key and joins a repeated one (Envoy sends lower-case names, so that is cheap).
 */
function mapEntry(r: R, into: Record<string, string>, headers: boolean): void {
  const end = r.uint32() + r.pos;
  let k = '';
  let v = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) k = str(r);
    else if (tag === 18) v = str(r);
    else r.skipType(tag & 7);
  }
  if (headers) addHeader(into, k.toLowerCase(), v);
  else into[k] = v;
}

function addHeader(h: Record<string, string>, k: string, v: string): void {
  // Repeated headers arrive as separate entries in header_map; keep them all.
  const prev = h[k];
  h[k] = prev === undefined ? v : `${prev},${v}`;
}

function headerValue(r: R, h: Record<string, string>): void {
  const end = r.uint32() + r.pos;
  let k = '';
  let v = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) k = str(r).toLowerCase();
    else if (tag === 18) v = str(r);
    else if (tag === 26) v = Buffer.from(r.bytes()).toString('utf8');
    else r.skipType(tag & 7);
  }
  addHeader(h, k, v);
}

function headerMap(r: R, h: Record<string, string>): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) headerValue(r, h);
    else r.skipType(tag & 7);
  }
}

function value(r: R, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new Error('metadata nested too deeply');
  const end = r.uint32() + r.pos;
  let out: unknown = null;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 8: r.int32(); out = null; break;
      case 17: out = r.double(); break;
      case 26: out = str(r); break;
      case 32: out = r.bool(); break;
      case 42: out = struct(r, depth + 1); break;
      case 50: out = list(r, depth + 1); break;
      default: r.skipType(tag & 7);
    }
  }
  return out;
}

function list(r: R, depth: number): unknown[] {
  const end = r.uint32() + r.pos;
  const out: unknown[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) out.push(value(r, depth));
    else r.skipType(tag & 7);
  }
  return out;
}

/**
 * A map<string, Message> field's entries (key = 1, value = 2) gathered into a null-prototype
 * object, each value read by `read`; `missing` stands for an entry without a value.
 */
function messageMap(r: R, read: (r: R) => unknown, missing: () => unknown): Record<string, unknown> {
  const end = r.uint32() + r.pos;
  const out = nullObject<unknown>();
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag !== 10) {
      r.skipType(tag & 7);
      continue;
    }
    const entryEnd = r.uint32() + r.pos;
    let k = '';
    let v: unknown;
    while (r.pos < entryEnd) {
      const t = r.uint32();
      if (t === 10) k = str(r);
      else if (t === 18) v = read(r);
      else r.skipType(t & 7);
    }
    out[k] = v === undefined ? missing() : v;
  }
  return out;
}

/** google.protobuf.Struct → plain object (fields = 1, map<string, Value>). */
function struct(r: R, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new Error('metadata nested too deeply');
  return messageMap(r, (rr) => value(rr, depth + 1), () => null);
}

/** core.v3.Metadata → filter_metadata as { [filter]: plainObject }. typed_filter_metadata is skipped. */
function metadata(r: R): Record<string, unknown> {
  return messageMap(r, (rr) => struct(rr, 1), () => ({}));
}

/** Address → socket_address.address (field 1 → field 2). */
function address(r: R): string | undefined {
  const end = r.uint32() + r.pos;
  let addr: string | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag !== 10) {
      r.skipType(tag & 7);
      continue;
    }
    const sEnd = r.uint32() + r.pos;
    while (r.pos < sEnd) {
      const t = r.uint32();
      if (t === 18) addr = str(r);
      else r.skipType(t & 7);
    }
  }
  return addr;
}

function peer(r: R, c: EnvoyCheck, source: boolean): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) {
      const a = address(r);
      if (source) c.sourceAddress = a;
    } else if (tag === 34) {
      const p = str(r);
      if (source) c.sourcePrincipal = p;
      else c.destinationPrincipal = p;
    } else r.skipType(tag & 7);
  }
}

function int64(r: R): number {
  const v = r.int64() as unknown;
  return typeof v === 'number' ? v : Number((v as { toString(): string }).toString());
}

function httpRequest(r: R, c: EnvoyCheck): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: c.id = r.string(); break;
      case 18: c.method = str(r); break;
      case 26: mapEntry(r, c.headers, true); break;
      case 34: c.path = r.string(); break;
      case 42: c.host = str(r); break;
      case 50: c.scheme = str(r); break;
      case 72: c.size = int64(r); break;
      case 82: c.protocol = str(r); break;
      case 90: c.body = r.string(); break;
      case 98: c.body = Buffer.from(r.bytes()).toString('utf8'); break;
      case 106: headerMap(r, c.headers); break;
      default: r.skipType(tag & 7);
    }
  }
}

function request(r: R, c: EnvoyCheck): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 18) httpRequest(r, c);
    else r.skipType(tag & 7);
  }
}

function tlsSession(r: R, c: EnvoyCheck): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) c.sni = r.string();
    else r.skipType(tag & 7);
  }
}

function attributes(r: R, c: EnvoyCheck): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: peer(r, c, true); break;
      case 18: peer(r, c, false); break;
      case 34: request(r, c); break;
      case 82: mapEntry(r, (c.contextExtensions ??= nullObject<string>()), false); break;
      case 90: c.metadata = metadata(r); break;
      case 98: tlsSession(r, c); break;
      case 106: c.routeMetadata = metadata(r); break;
      default: r.skipType(tag & 7);
    }
  }
}

export function decodeCheckRequest(buf: Uint8Array): EnvoyCheck | DecodeFailure {
  try {
    const r = Reader.create(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    const c = newCheck();
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 10) attributes(r, c);
      else r.skipType(tag & 7);
    }
    if (r.pos !== r.len) return { decodeError: 'truncated CheckRequest' };
    return c;
  } catch (e) {
    return { decodeError: `malformed CheckRequest: ${(e as Error).message}` };
  }
}

export function isDecodeFailure(v: EnvoyCheck | DecodeFailure): v is DecodeFailure {
  return (v as DecodeFailure).decodeError !== undefined;
}
