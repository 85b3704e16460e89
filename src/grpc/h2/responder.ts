/**
 * How the h2 transport answers a gRPC call on its stream (the Responder of call.ts): a
 * message and the OK trailers, a status alone (Trailers-Only), or a server stream's messages.
 * Header blocks are constant bytes, encoded once.
 */
import type { Responder, StreamCall } from '../call.js';
import { Status, statusFields } from '../wire.js';
import { literal, STATIC_INDEX, STATUS_200 } from './hpack.js';
import type { H2Stream } from './stream.js';

const CONTENT_TYPE = literal(STATIC_INDEX.contentType, 'application/grpc');
export const RESPONSE_BLOCK = Buffer.concat([STATUS_200, CONTENT_TYPE]);
export const OK_TRAILERS_BLOCK = literal('grpc-status', '0');

const TEXT = literal(STATIC_INDEX.contentType, 'text/plain; charset=utf-8');
const PLAIN_BLOCK: Record<number, Buffer> = {
  405: Buffer.concat([literal(STATIC_INDEX.status, '405'), TEXT]),
  415: Buffer.concat([literal(STATIC_INDEX.status, '415'), TEXT]),
};
const PLAIN_BODY = Buffer.from('This is a gRPC server: send POST with content-type application/grpc.\n');

/** Trailers-Only: the status in the one HEADERS frame that ends the stream. */
export function status(s: H2Stream, code: number, message: string): void {
  s.conn.answered(s);
  if (s.localDone || s.headersSent) return;
  // A request that is not a gRPC call gets its HTTP status and a line saying why, whatever ends it.
  if (s.plain !== 0) return s.conn.sendPlain(s, PLAIN_BLOCK[s.plain] ?? literal(STATIC_INDEX.status, String(s.plain)), PLAIN_BODY);
  s.conn.endStream(s, Buffer.concat([RESPONSE_BLOCK, ...statusFields(code, message).map(([name, value]) => literal(name, value))]));
}

function message(s: H2Stream, frame: Buffer): void {
  s.conn.answered(s);
  // The client cancelled or its deadline passed, or the call was already answered (timed out).
  if (s.localDone || s.headersSent) return;
  s.conn.sendHeaders(s);
  s.conn.sendData(s, frame, true);
}

class H2StreamCall implements StreamCall {
  constructor(private readonly s: H2Stream) {}

  write(frame: Buffer): void {
    const s = this.s;
    if (s.localDone) return;
    if (!s.headersSent) s.conn.sendHeaders(s);
    s.conn.sendData(s, frame, false);
  }

  end(): void {
    const s = this.s;
    if (s.localDone) return;
    if (s.headersSent) s.conn.endStream(s, OK_TRAILERS_BLOCK);
    else status(s, Status.OK, 'OK');
  }

  onClose(listener: () => void): void {
    if (this.s.localDone && this.s.remoteDone) listener();
    else (this.s.closeListeners ??= []).push(listener);
  }
}

export const H2_RESPONDER: Responder<H2Stream> = {
  message,
  status,
  streamCall: (s) => new H2StreamCall(s),
};
