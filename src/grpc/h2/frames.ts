/** HTTP/2 wire constants (RFC 9113) and the buffer frames are written into. */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const DATA = 0;
export const HEADERS = 1;
export const PRIORITY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PUSH_PROMISE = 5;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY_FLAG = 0x20;

/** Error codes (RFC 9113 7). */
export const NO_ERROR = 0x0;
export const PROTOCOL_ERROR = 0x1;
export const INTERNAL_ERROR = 0x2;
export const FLOW_CONTROL_ERROR = 0x3;
export const STREAM_CLOSED = 0x5;
export const FRAME_SIZE_ERROR = 0x6;
export const REFUSED_STREAM = 0x7;
export const CANCEL = 0x8;
export const COMPRESSION_ERROR = 0x9;
export const ENHANCE_YOUR_CALM = 0xb;

/** Settings identifiers (RFC 9113 6.5.2). */
export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

/** The largest frame payload before SETTINGS_MAX_FRAME_SIZE is changed (we never raise ours). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 2 ** 31 - 1;
export const MAX_STREAM_ID = 2 ** 31 - 1;

/**
 * Frames for one connection, gathered until the next flush (one socket write per batch of
 * input). The buffer is reused: a flush copies what it holds into a write-sized buffer, which
 * below 4 KiB comes from Buffer's shared pool. It starts small and doubles as a connection
 * needs: a flood of connections that say little holds little.
 */
export class FrameWriter {
  private buf = Buffer.allocUnsafeSlow(1024);
  length = 0;

  /** Room for `n` more bytes. */
  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  /** A frame header and, if given, its whole payload. */
  frame(type: number, flags: number, streamId: number, payload?: Uint8Array, length = payload?.length ?? 0): void {
    this.reserve(9 + length);
    const b = this.buf;
    let at = this.length;
    b[at++] = length >>> 16;
    b[at++] = (length >>> 8) & 0xff;
    b[at++] = length & 0xff;
    b[at++] = type;
    b[at++] = flags;
    b.writeUInt32BE(streamId, at);
    at += 4;
    if (payload !== undefined) {
      b.set(payload, at);
      at += payload.length;
    }
    this.length = at;
  }

  /** A frame whose payload is `payload[start, end)`. */
  slice(type: number, flags: number, streamId: number, payload: Buffer, start: number, end: number): void {
    this.frame(type, flags, streamId, undefined, end - start); // reserves the payload's room too
    payload.copy(this.buf, this.length, start, end);
    this.length += end - start;
  }

  /** The PING ACK echoing the 8 bytes at `payload[start]` (by hand: Buffer.copy costs more than the frame for 8 bytes). */
  pingAck(payload: Buffer, start: number): void {
    this.frame(PING, ACK, 0, undefined, 8);
    this.buf.writeUInt32BE(payload.readUInt32BE(start), this.length);
    this.buf.writeUInt32BE(payload.readUInt32BE(start + 4), this.length + 4);
    this.length += 8;
  }

  /** A frame with a 32-bit payload (WINDOW_UPDATE, RST_STREAM). */
  u32(type: number, streamId: number, value: number): void {
    this.frame(type, 0, streamId, undefined, 4);
    this.buf.writeUInt32BE(value, this.length);
    this.length += 4;
  }

  /** Takes what was written, as a buffer of its own. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.buf.copy(out, 0, 0, this.length);
    this.length = 0;
    return out;
  }
}

/** A connection error (RFC 9113 5.4.1): the connection ends with GOAWAY carrying `code`. */
export class ConnectionError extends Error {
  constructor(readonly code: number, message: string) {
    // No stack: the peer caused it, and a flood of them would pay for one each.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}
