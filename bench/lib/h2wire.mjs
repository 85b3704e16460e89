// Just enough HTTP/2 (RFC 9113) and HPACK (RFC 7541) for a gRPC unary load client on a raw
// socket. Why not node:http2's client: measured here it tops out near 11k req/s on one core
// (~75 µs of client CPU per request: an Http2Stream duplex, listeners, header objects) — below
// the bare grpc-js server it should be measuring. Pre-encoded frames cost a copy and two writes.
//
// Scope, on purpose:
//  - We advertise SETTINGS_HEADER_TABLE_SIZE = 0, so the server's HPACK encoder uses the static
//    table only and every header block decodes without state.
//  - We never decode Huffman strings. We only need :status (static index 8) and grpc-status,
//    whose name bytes are learned once per process (calibrateGrpcStatusName) and whose value is a
//    1–2 digit number that an HPACK encoder sends raw (Huffman is not shorter for digits).
//  - Flow control: huge receive windows; the connection send window is honoured (callers queue).
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const T = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
export const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 };
export const MAX_WINDOW = 2 ** 31 - 1;

/** A frame: 9-byte header + payload. */
export function frameBytes(type, flags, streamId, payload = Buffer.alloc(0)) {
  const b = Buffer.allocUnsafe(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(streamId, 5);
  payload.copy(b, 9);
  return b;
}

/** Client connection start: preface, SETTINGS (no dynamic table, no push, max stream window), big connection window. */
export function clientStart() {
  const settings = Buffer.alloc(18);
  settings.writeUInt16BE(0x1, 0); settings.writeUInt32BE(0, 2); // HEADER_TABLE_SIZE
  settings.writeUInt16BE(0x2, 6); settings.writeUInt32BE(0, 8); // ENABLE_PUSH
  settings.writeUInt16BE(0x4, 12); settings.writeUInt32BE(MAX_WINDOW, 14); // INITIAL_WINDOW_SIZE
  return Buffer.concat([PREFACE, frameBytes(T.SETTINGS, 0, 0, settings), windowUpdate(0, MAX_WINDOW - 65535)]);
}

export function windowUpdate(streamId, increment) {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment, 0);
  return frameBytes(T.WINDOW_UPDATE, 0, streamId, p);
}

/** HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
export function hpackInt(value, prefixBits, firstByteFlags) {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByteFlags | value];
  const out = [firstByteFlags | max];
  for (value -= max; value >= 128; value >>= 7) out.push((value & 0x7f) | 0x80);
  out.push(value);
  return out;
}

const rawString = (s) => [...hpackInt(Buffer.byteLength(s, 'latin1'), 7, 0), ...Buffer.from(s, 'latin1')];

/**
 * The HPACK blocks of a gRPC unary request (RFC 7541 §6). `literal`: static-table references
 * and raw literals, no indexing (stateless; any request may use it). `first`: the same fields
 * as literals WITH incremental indexing, which puts :path, :authority, content-type and te in
 * the server decoder's dynamic table (62 + 4×32 bytes + the strings: far below the default
 * 4,096). `indexed`: every later request on that connection, six 1-byte references — what h2load
 * sends too, so the server's per-request header work is the same under either client.
 */
export function grpcRequestBlocks(authority, path) {
  const fields = [[4, path], [1, authority], [31, 'application/grpc'], [0, 'trailers', 'te']];
  const literal = (prefixBits, flags) => fields.flatMap(([idx, value, name]) =>
    [...hpackInt(idx, prefixBits, flags), ...(name ? rawString(name) : []), ...rawString(value)]);
  return {
    literal: Buffer.from([0x83, 0x86, ...literal(4, 0x00)]), // :method POST (static 3), :scheme http (static 6)
    first: Buffer.from([0x83, 0x86, ...literal(6, 0x40)]),
    // Newest entry is 62: te, content-type, :authority, :path were inserted in reverse.
    indexed: Buffer.from([0x83, 0x86, 0x80 | 65, 0x80 | 64, 0x80 | 63, 0x80 | 62]),
    tableBytes: fields.reduce((n, [idx, value, name]) => n + 32 + value.length + (name ?? STATIC_NAMES[idx]).length, 0),
  };
}
const STATIC_NAMES = { 1: ':authority', 4: ':path', 31: 'content-type' };

function readInt(buf, pos, prefixBits) {
  const max = (1 << prefixBits) - 1;
  let value = buf[pos] & max;
  pos++;
  if (value === max) {
    let shift = 0;
    let b;
    do { b = buf[pos++]; value += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
  }
  return [value, pos];
}

function readString(buf, pos) {
  const huffman = (buf[pos] & 0x80) !== 0;
  const [len, p] = readInt(buf, pos, 7);
  return [{ huffman, bytes: buf.subarray(p, p + len) }, p + len];
}

/**
 * Walk a header block decoded against the STATIC table only (we set the dynamic table size to
 * 0). Calls visit(nameIndex, nameString|undefined, valueString|undefined) per field; an indexed
 * field gives only its index.
 */
export function walkHeaderBlock(block, visit) {
  let pos = 0;
  while (pos < block.length) {
    const b = block[pos];
    if (b & 0x80) { const [idx, p] = readInt(block, pos, 7); visit(idx); pos = p; continue; }
    if ((b & 0xe0) === 0x20) { pos = readInt(block, pos, 5)[1]; continue; } // table size update
    const prefix = (b & 0xc0) === 0x40 ? 6 : 4; // with incremental indexing : without / never indexed
    let [idx, p] = readInt(block, pos, prefix);
    let name;
    if (idx === 0) [name, p] = readString(block, p);
    const [value, next] = readString(block, p);
    visit(idx, name, value);
    pos = next;
  }
}

/** Payload of a HEADERS frame without padding and priority fields. */
export function headersPayload(flags, payload) {
  let start = 0;
  let end = payload.length;
  if (flags & F.PADDED) { end -= payload[0]; start = 1; }
  if (flags & F.PRIORITY) start += 5;
  return payload.subarray(start, end);
}

/**
 * What a response header block says: { status200, grpcStatus } where grpcStatus is a number,
 * or undefined when absent or not readable without Huffman decoding.
 */
export function readResponseBlock(block, grpcStatusName) {
  let status200 = false;
  let grpcStatus;
  walkHeaderBlock(block, (idx, name, value) => {
    // Static entries 8..14 are ":status" with 200, 204, 206, 304, 400, 404, 500.
    if (idx >= 8 && idx <= 14) status200 = value ? !value.huffman && value.bytes.toString('latin1') === '200' : idx === 8;
    else if (name && value && !value.huffman && sameName(name, grpcStatusName)) {
      grpcStatus = Number(value.bytes.toString('latin1'));
    }
  });
  return { status200, grpcStatus };
}

const RAW_GRPC_STATUS = { huffman: false, bytes: Buffer.from('grpc-status') };
function sameName(name, learned) {
  const match = (want) => want && name.huffman === want.huffman && name.bytes.equals(want.bytes);
  return match(RAW_GRPC_STATUS) || match(learned);
}
