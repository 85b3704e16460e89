/**
 * A raw HTTP/2 client for protocol tests: writes exactly the frames a test builds and parses
 * every frame the server sends, so a test can assert on the server's frames, not on what a
 * client library makes of them.
 */
import { connect, type Socket } from 'node:net';
import { literal } from '../../src/grpc/h2/hpack.js';
import { waitFor } from './wait.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const T = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FL = { END_STREAM: 1, ACK: 1, END_HEADERS: 4, PADDED: 8, PRIORITY: 0x20 } as const;
export const ERR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, CANCEL: 8, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 0xb } as const;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function frameBytes(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

export function settings(pairs: Array<[number, number]> = []): Buffer {
  const p = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([k, v], i) => {
    p.writeUInt16BE(k, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frameBytes(T.SETTINGS, 0, 0, p);
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

/** A gRPC Check request header block: `:method POST` and `:scheme http` indexed, the rest literal. */
export function requestBlock(overrides: Record<string, string> = {}, extra: Array<[string, string]> = []): Buffer {
  const fields: Array<[string, string]> = [
    [':method', 'POST'], [':scheme', 'http'], [':path', '/envoy.service.auth.v3.Authorization/Check'], [':authority', 'ext-authz'],
    ['content-type', 'application/grpc'], ['te', 'trailers'],
  ];
  const parts = fields.map(([n, v]) => {
    const value = overrides[n] ?? v;
    if (n === ':method' && value === 'POST') return Buffer.from([0x83]);
    if (n === ':scheme' && value === 'http') return Buffer.from([0x86]);
    return literal(n, value);
  });
  for (const [n, v] of extra) parts.push(literal(n, v));
  return Buffer.concat(parts);
}

export class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => this.parse(c));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  /** Connects; with `handshake`, sends the preface and an empty SETTINGS. */
  static async open(port: number, handshake: Buffer | false = settings()): Promise<RawH2> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const c = new RawH2(socket);
    if (handshake !== false) c.send(PREFACE, handshake);
    return c;
  }

  send(...bytes: Buffer[]): void {
    this.socket.write(Buffer.concat(bytes));
  }

  /** Waits for a frame matching `match` (any frame already received counts). */
  async expect(match: (f: Frame) => boolean, what = 'frame'): Promise<Frame> {
    return waitFor(() => this.frames.find(match), { what, timeoutMs: 5000 });
  }

  async goaway(): Promise<{ lastStream: number; code: number; debug: string }> {
    const f = await this.expect((x) => x.type === T.GOAWAY, 'GOAWAY');
    return { lastStream: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
  }

  async reset(stream: number): Promise<number> {
    return (await this.expect((x) => x.type === T.RST_STREAM && x.stream === stream, `RST_STREAM ${stream}`)).payload.readUInt32BE(0);
  }

  /** Frames received on `stream`. */
  on(stream: number): Frame[] {
    return this.frames.filter((f) => f.stream === stream);
  }

  /** Waits until the server ended `stream` (END_STREAM on HEADERS or DATA, or RST_STREAM). */
  async ended(stream: number): Promise<Frame[]> {
    await this.expect((f) => f.stream === stream && (f.type === T.RST_STREAM || ((f.type === T.HEADERS || f.type === T.DATA) && (f.flags & FL.END_STREAM) !== 0)), `end of stream ${stream}`);
    return this.on(stream);
  }

  async waitClosed(): Promise<void> {
    await waitFor(() => this.closed, { what: 'connection close', timeoutMs: 5000 });
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 9) return;
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      this.frames.push({ type: this.buf[3] as number, flags: this.buf[4] as number, stream: this.buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.buf.subarray(9, 9 + len)) });
      this.buf = this.buf.subarray(9 + len);
    }
  }
}
