/** One stream of an h2 connection: a call's state from its HEADERS to its end. */
import type { GrpcMethod } from '../call.js';

/** Our receive window per stream (flow.ts sets the connection's): large, so a busy stream rarely waits for a WINDOW_UPDATE. */
export const STREAM_WINDOW = 1024 * 1024;

/** Passed to endStream in place of trailers: an empty DATA frame with END_STREAM ends the stream. */
export const END_WITHOUT_TRAILERS = Buffer.alloc(0);

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
  /** An HTTP answer that is not gRPC: headers, then `body` in DATA that ends the stream. */
  sendPlain(s: H2Stream, block: Buffer, body: Buffer): void;
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
  /** Not a gRPC call: the HTTP status (405, 415) it is answered with once the request has ended; 0 for a call. */
  plain = 0;
  /** `content-length` of the request, or -1; and the DATA payload bytes received, checked against it. */
  contentLength = -1;
  received = 0;
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


/** The last `size` ranges of stream ids added, in a ring: a bounded memory of streams in some past state. */
export class RecentIds {
  private readonly ranges: Uint32Array;
  private next = 0;

  constructor(private readonly size: number) {
    this.ranges = new Uint32Array(2 * size);
  }

  /** Ids `from` to `to`, both included. */
  add(from: number, to = from): void {
    this.ranges[2 * this.next] = from;
    this.ranges[2 * this.next + 1] = to;
    this.next = (this.next + 1) % this.size;
  }

  has(id: number): boolean {
    if (id === 0) return false;
    for (let i = 0; i < this.ranges.length; i += 2) if (id >= (this.ranges[i] as number) && id <= (this.ranges[i + 1] as number)) return true;
    return false;
  }
}
