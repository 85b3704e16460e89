/** One stream of an h2 connection: a call's state from its HEADERS to its end. */
import type { GrpcMethod } from '../call.js';

/** Our receive window per stream (flow.ts sets the connection's): large, so a busy stream rarely waits for a WINDOW_UPDATE. */
export const STREAM_WINDOW = 1024 * 1024;

/** What a stream's answer needs of its connection (implemented by H2Connection). */
export interface StreamConnection {
  /** A call's answer came (or failed): it no longer holds a slot, even if the client reset it. */
  answered(s: H2Stream): void;
  /** Response headers, once per stream. */
  sendHeaders(s: H2Stream): void;
  /** One framed message; with `end`, the OK trailers after it. */
  sendData(s: H2Stream, data: Buffer, end: boolean): void;
  /** Trailers (or Trailers-Only headers) that end our side of the stream. */
  endStream(s: H2Stream, block: Buffer): void;
  flush(): void;
}

/** One client stream (a call). */
export class H2Stream {
  /** The request has fully arrived (END_STREAM received), or will never be read. */
  remoteDone = false;
  /** We sent END_STREAM, or the stream was reset. */
  localDone = false;
  /** Response headers sent. */
  headersSent = false;
  recvWindow = STREAM_WINDOW;
  recvUnacked = 0;
  sendWindow: number;
  first: Buffer | undefined = undefined;
  parts: Buffer[] | undefined = undefined;
  size = 0;
  /** Bytes of `first`/`parts` counted in the connection's buffered total. */
  held = 0;
  refused = false;
  /** A unary call being decided (its answer not yet given). */
  running = false;
  /** Closed while running: counted in the connection's resetRunning until answered. */
  counted = false;
  /** DATA waiting for window, and the trailers to follow it. */
  queue: Buffer[] | undefined = undefined;
  queued = 0;
  queuedTrailers: Buffer | undefined = undefined;
  blocked = false;
  blockedAt = 0;
  closeListeners: Array<() => void> | undefined = undefined;
  // The host's arrival list.
  older: H2Stream | undefined = undefined;
  newer: H2Stream | undefined = undefined;
  listed = false;

  constructor(
    readonly conn: StreamConnection,
    readonly id: number,
    readonly method: GrpcMethod,
    readonly encoding: string,
    readonly deadline: number | undefined,
    readonly started: number,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }
}

