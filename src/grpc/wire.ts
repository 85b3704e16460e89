/**
 * The parts of gRPC-over-HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md) a unary and a server-streaming
 * method need: status codes, `grpc-timeout`, length-prefixed messages, `grpc-message`
 * percent-encoding and message decompression. Used by the native transport.
 */
import { gunzipSync, inflateSync } from 'node:zlib';

/** The status codes this server sends (grpc/doc/statuscodes.md). */
export const Status = {
  OK: 0,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
} as const;

export class GrpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };
/** At most 8 digits and a unit, per the spec. */
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
/** Longer than any real deadline, short enough for setTimeout (2^31 - 1 ms). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * `grpc-timeout` → the caller's deadline (epoch ms); undefined without the header. A value
 * outside the grammar is a GrpcError (INTERNAL, as grpc-js answers); huge values are capped.
 */
export function deadlineFrom(header: string | string[] | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const m = TIMEOUT.exec(Array.isArray(header) ? (header[0] ?? '') : header);
  if (m === null) throw new GrpcError(Status.INTERNAL, `Invalid grpc-timeout value "${String(header)}"`);
  return now + Math.min(Number(m[1]) * (TIMEOUT_UNIT_MS[m[2] as string] as number), MAX_TIMEOUT_MS);
}

/** `grpc-message` is percent-encoded: bytes outside printable ASCII, and `%`, become %XX. */
export function encodeGrpcMessage(message: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x20-\x24\x26-\x7e]/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export const SUPPORTED_ENCODINGS = 'identity,deflate,gzip';

/** The longest grpc-message sent (before percent-encoding): error texts can quote client input, such as the path. */
const MAX_STATUS_MESSAGE = 1024;

/** The gRPC fields of a status-only answer (Trailers-Only), after `:status` and `content-type`. */
export function statusFields(code: number, message: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [['grpc-status', String(code)], ['grpc-message', encodeGrpcMessage(message.slice(0, MAX_STATUS_MESSAGE))]];
  if (code === Status.UNIMPLEMENTED) fields.push(['grpc-accept-encoding', SUPPORTED_ENCODINGS]);
  return fields;
}

/** RESOURCE_EXHAUSTED for a request body past the limit, worded as grpc-js words it. */
export function tooLarge(received: number, max: number): GrpcError {
  return new GrpcError(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${received}+ vs. ${max})`);
}

/**
 * The one message of a request body: a flag byte, a 4-byte big-endian length, the payload.
 * Anything but exactly one complete message is an error with the status grpc-js would send.
 */
export function singleMessage(body: Buffer, encoding: string, maxBytes: number): Buffer {
  if (body.length === 0) throw new GrpcError(Status.UNIMPLEMENTED, 'Received no request message for a unary or server-streaming method');
  if (body.length < 5) throw new GrpcError(Status.INTERNAL, 'Truncated message frame');
  const flag = body[0] as number;
  const length = body.readUInt32BE(1);
  if (length > maxBytes) throw new GrpcError(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${maxBytes})`);
  if (body.length < 5 + length) throw new GrpcError(Status.INTERNAL, 'Truncated message frame');
  if (body.length > 5 + length) throw new GrpcError(Status.UNIMPLEMENTED, 'Received a second request message for a unary or server-streaming method');
  const payload = body.subarray(5);
  if (flag === 0) return payload;
  if (flag !== 1) throw new GrpcError(Status.INTERNAL, `Invalid message flag ${flag}`);
  return decompress(payload, encoding, maxBytes);
}

function decompress(payload: Buffer, encoding: string, maxBytes: number): Buffer {
  const inflate = encoding === 'gzip' ? gunzipSync : encoding === 'deflate' ? inflateSync : undefined;
  if (encoding === 'identity') throw new GrpcError(Status.INTERNAL, 'Compressed flag set with identity encoding');
  if (inflate === undefined) throw new GrpcError(Status.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`);
  try {
    // maxOutputLength: a small compressed bomb cannot expand past the receive limit.
    return inflate(payload, { maxOutputLength: maxBytes });
  } catch (e) {
    const tooBig = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw tooBig
      ? new GrpcError(Status.RESOURCE_EXHAUSTED, `Received message that decompresses to a size larger than ${maxBytes}`)
      : new GrpcError(Status.INTERNAL, 'Failed to decompress message');
  }
}

/** Writes the 5-byte prefix of an uncompressed message of `length` bytes at the start of `out`. */
export function writeFrameHeader(out: Buffer, length: number): void {
  out[0] = 0;
  out.writeUInt32BE(length, 1);
}

/** Prefixes a serialized message with the uncompressed flag and its length. */
export function frameMessage(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  writeFrameHeader(out, message.length);
  message.copy(out, 5);
  return out;
}
