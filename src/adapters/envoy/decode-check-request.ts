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
import { StringIntern } from '../../shared/string-intern.js';
import * as T from './tags.js';

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
    if (tag === T.MAP_KEY) k = str(r);
    else if (tag === T.MAP_VALUE) v = str(r);
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
    if (tag === T.HEADER_KEY) k = str(r).toLowerCase();
    else if (tag === T.HEADER_VALUE) v = str(r);
    else if (tag === T.HEADER_RAW_VALUE) v = Buffer.from(r.bytes()).toString('utf8');
    else r.skipType(tag & 7);
  }
  addHeader(h, k, v);
}

function headerMap(r: R, h: Record<string, string>): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === T.HEADER_MAP_HEADERS) headerValue(r, h);
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
      case T.VALUE_NULL: r.int32(); out = null; break;
      case T.VALUE_NUMBER: out = r.double(); break;
      case T.VALUE_STRING: out = str(r); break;
      case T.VALUE_BOOL: out = r.bool(); break;
      case T.VALUE_STRUCT: out = struct(r, depth + 1); break;
      case T.VALUE_LIST: out = list(r, depth + 1); break;
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
    if (tag === T.LIST_VALUES) out.push(value(r, depth));
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
    if (tag !== T.STRUCT_FIELDS) {
      // Struct.fields and Metadata.filter_metadata are both field 1: the same tag.
      r.skipType(tag & 7);
      continue;
    }
    const entryEnd = r.uint32() + r.pos;
    let k = '';
    let v: unknown;
    while (r.pos < entryEnd) {
      const t = r.uint32();
      if (t === T.MAP_KEY) k = str(r);
      else if (t === T.MAP_VALUE) v = read(r);
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
    if (tag !== T.ADDRESS_SOCKET) {
      r.skipType(tag & 7);
      continue;
    }
    const sEnd = r.uint32() + r.pos;
    while (r.pos < sEnd) {
      const t = r.uint32();
      if (t === T.SOCKET_ADDRESS) addr = str(r);
      else r.skipType(t & 7);
    }
  }
  return addr;
}

function peer(r: R, c: EnvoyCheck, source: boolean): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === T.PEER_ADDRESS) {
      const a = address(r);
      if (source) c.sourceAddress = a;
    } else if (tag === T.PEER_PRINCIPAL) {
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
      case T.HTTP_ID: c.id = r.string(); break;
      case T.HTTP_METHOD: c.method = str(r); break;
      case T.HTTP_HEADERS: mapEntry(r, c.headers, true); break;
      case T.HTTP_PATH: c.path = r.string(); break;
      case T.HTTP_HOST: c.host = str(r); break;
      case T.HTTP_SCHEME: c.scheme = str(r); break;
      case T.HTTP_SIZE: c.size = int64(r); break;
      case T.HTTP_PROTOCOL: c.protocol = str(r); break;
      case T.HTTP_BODY: c.body = r.string(); break;
      case T.HTTP_RAW_BODY: c.body = Buffer.from(r.bytes()).toString('utf8'); break;
      case T.HTTP_HEADER_MAP: headerMap(r, c.headers); break;
      default: r.skipType(tag & 7);
    }
  }
}

function request(r: R, c: EnvoyCheck): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === T.REQUEST_HTTP) httpRequest(r, c);
    else r.skipType(tag & 7);
  }
}

function tlsSession(r: R, c: EnvoyCheck): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === T.TLS_SNI) c.sni = r.string();
    else r.skipType(tag & 7);
  }
}

function attributes(r: R, c: EnvoyCheck): void {
  const end = r.uint32() + r.pos;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case T.ATTR_SOURCE: peer(r, c, true); break;
      case T.ATTR_DESTINATION: peer(r, c, false); break;
      case T.ATTR_REQUEST: request(r, c); break;
      case T.ATTR_CONTEXT_EXTENSIONS: mapEntry(r, (c.contextExtensions ??= nullObject<string>()), false); break;
      case T.ATTR_METADATA_CONTEXT: c.metadata = metadata(r); break;
      case T.ATTR_TLS_SESSION: tlsSession(r, c); break;
      case T.ATTR_ROUTE_METADATA: c.routeMetadata = metadata(r); break;
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
      if (tag === T.CHECK_ATTRIBUTES) attributes(r, c);
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
