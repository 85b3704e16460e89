/**
 * Flow control of one h2 connection (RFC 9113 5.2, 6.9): our receive windows, given back in
 * one WINDOW_UPDATE per half window read, and the peer's send windows, with DATA that does not
 * fit queued per stream and sent, in the order streams blocked, as window opens.
 */
import * as F from './frames.js';
import { STREAM_WINDOW, type H2Stream } from './stream.js';

/** Our receive windows: large, so a busy connection rarely waits for a WINDOW_UPDATE. */
export const CONNECTION_WINDOW = 16 * 1024 * 1024;
export { STREAM_WINDOW };

export class FlowControl {
  private sendWindow = F.DEFAULT_WINDOW;
  private recvWindow = CONNECTION_WINDOW;
  private recvUnacked = 0;
  private peerMaxFrame = F.DEFAULT_MAX_FRAME_SIZE;
  peerInitialWindow = F.DEFAULT_WINDOW;
  /** Streams with DATA waiting for window, in the order they blocked. */
  private blocked: H2Stream[] = [];

  constructor(
    private readonly out: F.FrameWriter,
    /** Ends a stream whose queued DATA is all sent, with the trailers queued behind it. */
    private readonly endStream: (s: H2Stream, trailers: Buffer) => void,
  ) {}

  /** Some DATA waits for window. */
  get waiting(): boolean {
    return this.blocked.length > 0;
  }

  /** A DATA frame of `len` bytes arrived, on whatever stream: it counts against the connection window. */
  received(len: number): void {
    this.recvWindow -= len;
    if (this.recvWindow < 0) throw new F.ConnectionError(F.FLOW_CONTROL_ERROR, 'DATA past the connection window');
    this.recvUnacked += len;
    if (this.recvUnacked >= CONNECTION_WINDOW / 2) {
      this.out.u32(F.WINDOW_UPDATE, 0, this.recvUnacked);
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
  }

  /** `len` bytes of DATA on an open stream; false when they overrun its window (a stream error). */
  streamReceived(s: H2Stream, len: number): boolean {
    s.recvWindow -= len;
    return s.recvWindow >= 0;
  }

  /** The stream reads on: its window comes back in one WINDOW_UPDATE per half window. */
  streamConsumed(s: H2Stream, len: number): void {
    s.recvUnacked += len;
    if (s.recvUnacked >= STREAM_WINDOW / 2) {
      this.out.u32(F.WINDOW_UPDATE, s.id, s.recvUnacked);
      s.recvWindow += s.recvUnacked;
      s.recvUnacked = 0;
    }
  }

  /** SETTINGS_INITIAL_WINDOW_SIZE changes every open stream's send window by the difference. */
  setInitialWindow(value: number, streams: Iterable<H2Stream>): void {
    if (value > F.MAX_WINDOW) throw new F.ConnectionError(F.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE over 2^31-1');
    const delta = value - this.peerInitialWindow;
    this.peerInitialWindow = value;
    for (const s of streams) {
      s.sendWindow += delta;
      if (s.sendWindow > F.MAX_WINDOW) throw new F.ConnectionError(F.FLOW_CONTROL_ERROR, 'a stream window over 2^31-1');
    }
  }

  setMaxFrame(value: number): void {
    if (value < F.DEFAULT_MAX_FRAME_SIZE || value > 16_777_215) throw new F.ConnectionError(F.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range');
    this.peerMaxFrame = value;
  }

  /** WINDOW_UPDATE on stream 0. */
  connectionUpdate(inc: number): void {
    if (inc === 0) throw new F.ConnectionError(F.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
    this.sendWindow += inc;
    if (this.sendWindow > F.MAX_WINDOW) throw new F.ConnectionError(F.FLOW_CONTROL_ERROR, 'connection window over 2^31-1');
  }

  /** WINDOW_UPDATE on a stream; the stream error it calls for, if any (RFC 9113 6.9, 6.9.1). */
  streamUpdate(s: H2Stream, inc: number): number | undefined {
    if (inc === 0) return F.PROTOCOL_ERROR;
    s.sendWindow += inc;
    return s.sendWindow > F.MAX_WINDOW ? F.FLOW_CONTROL_ERROR : undefined;
  }

  /** Writes `data` as one DATA frame if both windows and the frame size allow it now. */
  trySend(s: H2Stream, data: Buffer): boolean {
    if (s.queue !== undefined || data.length > s.sendWindow || data.length > this.sendWindow || data.length > this.peerMaxFrame) return false;
    s.sendWindow -= data.length;
    this.sendWindow -= data.length;
    this.out.frame(F.DATA, 0, s.id, data);
    return true;
  }

  /** Queues `data` (and the trailers to end the stream with, if any) until window opens. */
  enqueue(s: H2Stream, data: Buffer, trailers: Buffer | undefined): void {
    (s.queue ??= []).push(data);
    if (trailers !== undefined) s.queuedTrailers = trailers;
    if (s.blocked) return;
    s.blocked = true;
    s.blockedAt = Date.now();
    this.blocked.push(s);
  }

  /** Sends what flow control now allows, in the order streams blocked. */
  pump(): void {
    if (this.blocked.length === 0) return;
    const still: H2Stream[] = [];
    for (const s of this.blocked) {
      if (s.localDone) continue;
      while (s.queue !== undefined && s.queue.length > 0) {
        const data = s.queue[0] as Buffer;
        const room = Math.min(s.sendWindow, this.sendWindow, this.peerMaxFrame, data.length - s.queued);
        if (room <= 0) break;
        this.out.slice(F.DATA, 0, s.id, data, s.queued, s.queued + room);
        s.blockedAt = Date.now(); // progress: the stall clock starts again
        s.sendWindow -= room;
        this.sendWindow -= room;
        s.queued += room;
        if (s.queued === data.length) {
          s.queue.shift();
          s.queued = 0;
        }
      }
      if (s.queue !== undefined && s.queue.length === 0) {
        s.queue = undefined;
        s.blocked = false;
        const trailers = s.queuedTrailers;
        s.queuedTrailers = undefined;
        if (trailers !== undefined) this.endStream(s, trailers);
      } else still.push(s);
    }
    this.blocked = still;
  }

  /** Streams whose answer has waited for window since before `since` (a client that never opens it). */
  stalled(since: number): H2Stream[] {
    return this.blocked.filter((s) => !s.localDone && s.blockedAt < since);
  }

  /** Forgets streams that ended while blocked. */
  prune(): void {
    this.blocked = this.blocked.filter((s) => !s.localDone);
  }
}
