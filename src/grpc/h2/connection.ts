/**
 * One HTTP/2 connection of the `h2` gRPC transport: the server side of RFC 9113 that a gRPC
 * server needs, on a plain socket. Frames are parsed in place from the bytes read; requests
 * are unary gRPC calls (and the health Watch stream); every answer is written into one buffer
 * and sent in one write per batch of input.
 *
 * What node:http2 gives every stream and this does not build: a Duplex stream object, header
 * objects in and out, external strings for header values, a trailers round through
 * setImmediate. What it keeps from RFC 9113: stream states, both directions of flow control,
 * SETTINGS, PING, GOAWAY, RST_STREAM, CONTINUATION, padding, the connection and stream errors
 * the RFC names, and limits a hostile client cannot push past (concurrent streams, header
 * block size, request size, unanswered output).
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { methodFor, type GrpcMethod } from '../call.js';
import { deadlineFrom, GrpcError, tooLarge } from '../wire.js';
import { CONNECTION_WINDOW, FlowControl, STREAM_WINDOW } from './flow.js';
import * as F from './frames.js';
import { ConnectionError } from './frames.js';
import { HpackDecoder, HpackError } from './hpack.js';
import type { H2Limits } from './limits.js';
import { RequestHead } from './request-head.js';
import { OK_TRAILERS_BLOCK, RESPONSE_BLOCK, status } from './responder.js';
import { END_WITHOUT_TRAILERS, H2Stream, RecentIds, type StreamConnection } from './stream.js';
import type { OutputHeap, OutputHolder } from './output-heap.js';

export interface ConnectionHost {
  readonly methods: ReadonlyMap<string, GrpcMethod>;
  readonly maxReceiveBytes: number;
  readonly limits: H2Limits;
  /** Connections open now (for a connection's share of the output budget, and those over it). */
  readonly connections: ReadonlySet<H2Connection>;
  /** Unsent output over all connections (kept by the connections, sampled at each write). */
  unsent: number;
  /** The connections holding unsent output, largest first (kept by the connections). */
  readonly holders: OutputHeap<H2Connection>;
  readonly logger: Logger | undefined;
  /** Request bytes held by unfinished requests over all connections (kept by the connections). */
  buffered: number;
  /** The most `buffered` may reach before the connection adding to it is closed. */
  readonly maxBufferedBytes: number;
  /** No traffic for this long after the handshake: the connection is closed (see idle()). */
  readonly idleTimeoutMs: number;
  /** A call's headers arrived; its request is still coming (for the request timeout). */
  arriving(s: H2Stream): void;
  /** A call's request has arrived, or the call ended before it did. */
  arrived(s: H2Stream): void;
  run(s: H2Stream, body: Buffer): void;
  closed(c: H2Connection): void;
  /** Counters of what peers did that the connection tolerated or stopped. */
  readonly stats: H2Stats;
}

/** Events counted over all connections of a server. */
export interface H2Stats {
  /** RST_STREAM on a stream id the peer never opened, ignored (see onReset). */
  idleStreamResets: number;
  /** Connections closed for holding too much unsent output (flush). */
  outputClosed: number;
  /** Connections closed for sending PING or SETTINGS too fast (control). */
  controlFloods: number;
  /** The most unsent output all connections held at once, in bytes (host.unsent at its highest). */
  unsentPeak: number;
}

/** The largest header block (all HEADERS + CONTINUATION fragments of one) accepted. */
const MAX_HEADER_BLOCK = 64 * 1024;
/** CONTINUATION frames one header block may take (Envoy and nghttp2 need one or two for any real block). */
const MAX_CONTINUATIONS = 64;
/** Request bytes a connection may hold in unfinished requests (or 4 × grpc_max_receive_bytes, if larger). */
const MAX_BUFFERED_INPUT = 64 * 1024 * 1024;

/** The PING of a drain's round trip (close()), told apart from a client's by its payload. */
const DRAIN_PING = Buffer.from('drain h2', 'latin1');
/** A client that does not answer the drain PING gets the second GOAWAY after this long. */
const DRAIN_ACK_WAIT_MS = 1000;

const OUR_SETTINGS = (maxStreams: number) => {
  const b = Buffer.alloc(18);
  b.writeUInt16BE(F.SETTINGS_MAX_CONCURRENT_STREAMS, 0);
  b.writeUInt32BE(maxStreams, 2);
  b.writeUInt16BE(F.SETTINGS_INITIAL_WINDOW_SIZE, 6);
  b.writeUInt32BE(STREAM_WINDOW, 8);
  b.writeUInt16BE(F.SETTINGS_MAX_HEADER_LIST_SIZE, 12);
  b.writeUInt32BE(MAX_HEADER_BLOCK, 14);
  return b;
};

/** The fewest PING and SETTINGS frames a client may send at once, whatever the rate (control()). */
const CONTROL_BURST_MIN = 10;
/**
 * A connection closed for abuse (ENHANCE_YOUR_CALM) is destroyed this long after its GOAWAY
 * and FIN, and up to half as long again (so that a flood caught at once is not let go at
 * once), and read no more meanwhile (hangUp()).
 */
const CALM_LINGER_MS = 5000;

/** How long an RST_STREAM on an idle stream, before any stream, waits for a stream to open (onReset). */
const IDLE_RESET_GRACE_MS = 250;

export class H2Connection implements StreamConnection, OutputHolder {
  private readonly decoder = new HpackDecoder();
  private readonly head = new RequestHead();
  private readonly out = new F.FrameWriter();
  private readonly streams = new Map<number, H2Stream>();
  /** Streams we reset before the client ended them: DATA it already sent on them is not an error. */
  private readonly resetByUs = new RecentIds(256);
  /** Stream ids the client passed over when opening a higher one. */
  private readonly skipped = new RecentIds(16);
  private partial: Buffer[] = [];
  private partialSize = 0;
  private partialNeed = 0;
  /** Request bytes held by streams whose message has not fully arrived. */
  private buffered = 0;
  /** Calls the client reset while they were still being decided (their work goes on). */
  private resetRunning = 0;
  private preface = false;
  private settingsSeen = false;
  private lastStreamId = 0;
  /** GOAWAY sent: streams above this id are ignored. */
  private goawayId = -1;
  private dead = false;
  /** The first GOAWAY of a drain is out; the second waits for its PING's ACK (see close()). */
  private drainTimer: NodeJS.Timeout | undefined = undefined;
  private flushQueued = false;
  /** Inside onData: answers given now go out with the flush that ends it. */
  private reading = false;
  private paused = false;
  /** Armed once hung up for abuse: destroys the socket (hangUp()). */
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Armed while paused for unsent output: still paused when it fires, the connection is closed (limits.outputStallMs). */
  private stallTimer: NodeJS.Timeout | undefined;
  /** The socket's unwritten bytes when last looked at (counted in host.unsent; read by host.holders). */
  unsent = 0;
  /** Where this connection sits in host.holders (-1: holds nothing, or dead). */
  heapAt = -1;
  /** PING and SETTINGS frames the client may still send now, as of controlAt (a token bucket: see control()). */
  private controlTokens = 0;
  private controlAt = 0;
  /** Armed by an RST_STREAM on an idle odd stream before any stream opened (see onReset). */
  private idleResetTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly flow = new FlowControl(this.out, (s, trailers) => this.endStream(s, trailers));
  // A header block arriving in pieces (HEADERS without END_HEADERS, then CONTINUATION).
  private blockStream = 0;
  private blockEndStream = false;
  private blockParts: Buffer[] = [];
  private blockSize = 0;
  private blockFrames = 0;

  constructor(readonly socket: Socket, private readonly host: ConnectionHost) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => host.logger?.debug({ err }, 'gRPC connection error'));
    socket.on('close', () => this.onClose());
    this.out.frame(F.SETTINGS, 0, 0, OUR_SETTINGS(host.limits.maxConcurrentStreams));
    this.out.u32(F.WINDOW_UPDATE, 0, CONNECTION_WINDOW - F.DEFAULT_WINDOW);
    this.flush();
  }

  /** The client sent the HTTP/2 preface and its SETTINGS. */
  get started(): boolean {
    return this.settingsSeen;
  }

  /**
   * The socket saw no traffic for the idle timeout. A connection without streams is closed
   * gracefully (GOAWAY, as a client expects of any server). One with a request still arriving
   * or an answer waiting for window made no progress in that time, and is dropped. Streams
   * that are only quiet (a health Watch between status changes) are left alone. A connection
   * already closing whose client neither closed nor read is destroyed.
   */
  idle(): void {
    if (this.dead) {
      this.socket.destroy();
      return;
    }
    if (this.streams.size === 0) return this.close();
    let stalled = this.flow.waiting;
    for (const s of this.streams.values()) if (!s.remoteDone) stalled = true;
    if (stalled) this.fatal(new ConnectionError(F.ENHANCE_YOUR_CALM, 'a request or an answer made no progress for the idle timeout'));
  }

  /** Resets streams whose answer has waited for flow-control window since before `since` (a client that never opens its window). */
  expireBlocked(since: number): void {
    if (!this.flow.waiting || this.dead) return;
    for (const s of this.flow.stalled(since)) this.resetStream(s.id, F.CANCEL, s);
    this.flow.prune();
    this.flush();
  }

  /**
   * Graceful close in two steps (RFC 9113 6.8): GOAWAY with the largest stream id tells the
   * client to open no more streams while those already on their way are still accepted; a PING
   * round trip later (or DRAIN_ACK_WAIT_MS, for a client that does not answer) the second GOAWAY
   * names the last stream we will answer. The socket ends when those are answered.
   */
  close(): void {
    // One hung up for abuse has had its GOAWAY: a drain does not wait for its linger.
    if (this.lingerTimer !== undefined) this.socket.destroy();
    if (this.dead || this.goawayId >= 0 || this.drainTimer !== undefined) return;
    this.writeGoaway(F.NO_ERROR, '', F.MAX_STREAM_ID);
    this.out.frame(F.PING, 0, 0, DRAIN_PING);
    this.flush();
    this.drainTimer = setTimeout(() => this.lastGoaway(), DRAIN_ACK_WAIT_MS);
    this.drainTimer.unref();
  }

  /** The GOAWAY naming the last stream answered: streams above it are ignored from now on. */
  private lastGoaway(): void {
    clearTimeout(this.drainTimer);
    if (this.dead || this.goawayId >= 0) return;
    this.goawayId = this.lastStreamId;
    this.writeGoaway(F.NO_ERROR, '');
    this.flush();
    this.endIfIdle();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ——— input ———

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    let buf = chunk;
    if (this.partial.length > 0) {
      // Bytes of an unfinished frame wait in pieces until the frame is whole: a client that
      // trickles a frame byte by byte costs one copy of it, not one per byte.
      this.partial.push(chunk);
      this.partialSize += chunk.length;
      if (this.partialSize < this.partialNeed) return;
      buf = Buffer.concat(this.partial, this.partialSize);
      this.partial = [];
      this.partialSize = 0;
    }
    let pos = 0;
    this.reading = true;
    try {
      if (!this.preface) {
        const n = Math.min(buf.length, F.PREFACE.length);
        if (buf.compare(F.PREFACE, 0, n, 0, n) !== 0) {
          // Not HTTP/2 (an HTTP/1.1 request, TLS, garbage): nothing useful can be answered.
          this.host.logger?.debug('gRPC connection without the HTTP/2 preface dropped');
          this.dead = true;
          this.socket.destroy();
          return;
        }
        if (buf.length < F.PREFACE.length) {
          this.keep(buf, F.PREFACE.length);
          return;
        }
        this.preface = true;
        pos = F.PREFACE.length;
      }
      while (!this.dead && buf.length - pos >= 9) {
        const len = ((buf[pos] as number) << 16) | ((buf[pos + 1] as number) << 8) | (buf[pos + 2] as number);
        if (len > F.DEFAULT_MAX_FRAME_SIZE) throw new ConnectionError(F.FRAME_SIZE_ERROR, `frame of ${len} bytes over the 16384 allowed`);
        if (buf.length - pos < 9 + len) break;
        const type = buf[pos + 3] as number;
        const flags = buf[pos + 4] as number;
        const id = buf.readUInt32BE(pos + 5) & 0x7fffffff;
        this.frame(buf, type, flags, id, pos + 9, pos + 9 + len);
        pos += 9 + len;
      }
    } catch (e) {
      this.fatal(e);
      return;
    } finally {
      this.reading = false;
    }
    if (!this.dead && pos < buf.length) {
      const rest = buf.subarray(pos);
      this.keep(rest, rest.length < 9 ? 9 : 9 + rest.readUIntBE(0, 3));
    }
    this.flush();
  }

  /** Holds the start of an unfinished frame (or preface) until `need` bytes are there. */
  private keep(bytes: Buffer, need: number): void {
    // A copy (at most one frame): the rest of the read buffer is not kept for it.
    this.partial = [Buffer.from(bytes)];
    this.partialSize = bytes.length;
    this.partialNeed = need;
  }

  private frame(buf: Buffer, type: number, flags: number, id: number, start: number, end: number): void {
    if (!this.settingsSeen && (type !== F.SETTINGS || flags & F.ACK)) throw new ConnectionError(F.PROTOCOL_ERROR, 'the first frame must be SETTINGS');
    if (this.blockStream !== 0 && type !== F.CONTINUATION) throw new ConnectionError(F.PROTOCOL_ERROR, 'header block interrupted');
    switch (type) {
      case F.DATA: return this.onDataFrame(buf, flags, id, start, end);
      case F.HEADERS: return this.onHeaders(buf, flags, id, start, end);
      case F.PRIORITY:
        if (id === 0) throw new ConnectionError(F.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (end - start !== 5) this.resetStream(id, F.FRAME_SIZE_ERROR, this.streams.get(id));
        // A stream that depends on itself: a stream error (RFC 9113 5.3.1).
        else if ((buf.readUInt32BE(start) & 0x7fffffff) === id) this.resetStream(id, F.PROTOCOL_ERROR, this.streams.get(id));
        return;
      case F.RST_STREAM: return this.onReset(buf, id, start, end);
      case F.SETTINGS:
        if ((flags & F.ACK) === 0) this.control();
        return this.onSettings(buf, flags, id, start, end);
      case F.PUSH_PROMISE: throw new ConnectionError(F.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case F.PING:
        if (id !== 0) throw new ConnectionError(F.PROTOCOL_ERROR, 'PING on a stream');
        if (end - start !== 8) throw new ConnectionError(F.FRAME_SIZE_ERROR, 'PING not 8 bytes');
        if ((flags & F.ACK) === 0) {
          this.control();
          this.out.pingAck(buf, start);
        }
        else if (this.drainTimer !== undefined && buf.compare(DRAIN_PING, 0, 8, start, end) === 0) this.lastGoaway();
        return;
      case F.GOAWAY:
        if (id !== 0) throw new ConnectionError(F.PROTOCOL_ERROR, 'GOAWAY on a stream');
        // The client will open no more streams (RFC 9113 6.8): our GOAWAY in answer names the
        // last stream we will answer; those are answered, then the connection closes.
        this.lastGoaway();
        return;
      case F.WINDOW_UPDATE: return this.onWindowUpdate(buf, id, start, end);
      case F.CONTINUATION: return this.onContinuation(buf, flags, id, start, end);
      default: // unknown frame types are ignored (RFC 9113 4.1)
    }
  }

  /** The payload of a frame without its padding (PADDED flag). */
  private unpad(buf: Buffer, flags: number, start: number, end: number): number {
    if ((flags & F.PADDED) === 0) return end;
    if (end - start < 1) throw new ConnectionError(F.FRAME_SIZE_ERROR, 'padded frame without a pad length');
    const pad = buf[start] as number;
    if (pad >= end - start) throw new ConnectionError(F.PROTOCOL_ERROR, 'padding longer than the frame');
    return end - pad;
  }

  private onDataFrame(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(F.PROTOCOL_ERROR, 'DATA on stream 0');
    const len = end - start;
    this.flow.received(len);
    const s = this.streams.get(id);
    if (s === undefined || s.remoteDone) {
      if (id > this.lastStreamId) throw new ConnectionError(F.PROTOCOL_ERROR, 'DATA on an idle stream');
      // DATA after a stream we reset, or one ignored after our GOAWAY, may have been on its way
      // before the client knew: discarded (RFC 9113 5.1, 6.8). After the client's own
      // END_STREAM or RST_STREAM, it is a stream error (6.1).
      if (s === undefined && (this.resetByUs.has(id) || (this.goawayId >= 0 && id > this.goawayId))) return;
      this.resetStream(id, F.STREAM_CLOSED, s);
      return;
    }
    if (!this.flow.streamReceived(s, len)) return this.resetStream(id, F.FLOW_CONTROL_ERROR, s);
    const payloadStart = flags & F.PADDED ? start + 1 : start;
    const payloadEnd = this.unpad(buf, flags, start, end);
    s.received += payloadEnd - payloadStart;
    if (s.contentLength >= 0 && s.received > s.contentLength) return this.resetStream(id, F.PROTOCOL_ERROR, s);
    if (!s.refused && payloadEnd > payloadStart) {
      // The DATA that ends a request is used before this read's buffer is let go (decided, or
      // concatenated with what came before): read in place. Anything kept across reads is
      // copied, so a few bytes held do not pin a whole read buffer.
      const payload = buf.subarray(payloadStart, payloadEnd);
      this.appendBody(s, flags & F.END_STREAM ? payload : Buffer.from(payload));
    }
    if (flags & F.END_STREAM) this.requestEnded(s);
    else if (!s.refused) this.flow.streamConsumed(s, len);
  }

  private appendBody(s: H2Stream, chunk: Buffer): void {
    s.size += chunk.length;
    const max = this.host.maxReceiveBytes;
    if (s.size > max + 5) {
      // Answer now and drop the rest: a client cannot make us buffer past the limit.
      s.refused = true;
      this.dropBody(s);
      const e = tooLarge(s.size - 5, max);
      status(s, e.code, e.message);
      return;
    }
    // Counted before the checks: a connection closed by them gives back what it counted.
    s.held += chunk.length;
    this.buffered += chunk.length;
    this.host.buffered += chunk.length;
    if (this.buffered > Math.max(MAX_BUFFERED_INPUT, 4 * max)) {
      throw new ConnectionError(F.ENHANCE_YOUR_CALM, `over ${this.buffered} bytes of unfinished requests on one connection`);
    }
    // All connections together: the one that pushes the process over the budget goes.
    if (this.host.buffered > this.host.maxBufferedBytes) {
      throw new ConnectionError(F.ENHANCE_YOUR_CALM, `over ${this.host.maxBufferedBytes} bytes of unfinished requests in the process`);
    }
    if (s.first === undefined) s.first = chunk;
    else (s.parts ??= [s.first]).push(chunk);
  }

  private requestEnded(s: H2Stream): void {
    // RFC 9113 8.1.1: a request whose DATA does not add up to its content-length is malformed.
    if (s.contentLength >= 0 && s.received !== s.contentLength) return this.resetStream(s.id, F.PROTOCOL_ERROR, s);
    s.remoteDone = true;
    this.host.arrived(s);
    const body = s.parts !== undefined ? Buffer.concat(s.parts, s.size) : (s.first ?? EMPTY);
    this.dropBody(s);
    if (s.localDone) return this.closeStream(s);
    if (s.plain !== 0) return status(s, 0, '');
    if (s.refused) return;
    s.running = s.method.kind === 'unary';
    this.host.run(s, body);
  }

  /** The stream no longer holds request bytes. */
  private dropBody(s: H2Stream): void {
    this.buffered -= s.held;
    this.host.buffered -= s.held;
    s.held = 0;
    s.first = s.parts = undefined;
  }

  private onHeaders(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(F.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let from = flags & F.PADDED ? start + 1 : start;
    const to = this.unpad(buf, flags, start, end);
    if (flags & F.PRIORITY_FLAG) {
      if (from + 5 > to) throw new ConnectionError(F.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      if ((buf.readUInt32BE(from) & 0x7fffffff) === id) throw new ConnectionError(F.PROTOCOL_ERROR, 'stream depends on itself');
      from += 5;
    }
    if (flags & F.END_HEADERS) return this.headerBlock(id, (flags & F.END_STREAM) !== 0, buf, from, to);
    this.blockStream = id;
    this.blockEndStream = (flags & F.END_STREAM) !== 0;
    this.blockParts = [Buffer.from(buf.subarray(from, to))];
    this.blockSize = to - from;
    this.blockFrames = 0;
  }

  private onContinuation(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (this.blockStream === 0 || id !== this.blockStream) throw new ConnectionError(F.PROTOCOL_ERROR, 'CONTINUATION without its HEADERS');
    this.blockSize += end - start;
    if (this.blockSize > MAX_HEADER_BLOCK) throw new ConnectionError(F.ENHANCE_YOUR_CALM, `header block over ${MAX_HEADER_BLOCK} bytes`);
    // Empty fragments cost nothing to skip; many small ones are a flood, not a header block.
    if (++this.blockFrames > MAX_CONTINUATIONS) throw new ConnectionError(F.ENHANCE_YOUR_CALM, `header block in over ${MAX_CONTINUATIONS} frames`);
    if (end > start) this.blockParts.push(Buffer.from(buf.subarray(start, end)));
    if ((flags & F.END_HEADERS) === 0) return;
    const block = Buffer.concat(this.blockParts);
    this.blockStream = 0;
    this.blockParts = [];
    this.headerBlock(id, this.blockEndStream, block, 0, block.length);
  }

  /** A whole header block: the request's headers (a new stream) or its trailers. */
  private headerBlock(id: number, endStream: boolean, buf: Buffer, start: number, end: number): void {
    const existing = this.streams.get(id);
    const head = this.head;
    head.reset(existing !== undefined);
    try {
      this.decoder.decode(buf, start, end, head);
    } catch (e) {
      if (e instanceof HpackError) throw new ConnectionError(F.COMPRESSION_ERROR, `HPACK: ${e.message}`);
      throw e;
    }
    if (existing !== undefined) {
      // Trailers: they must end the request; their fields mean nothing to a unary call.
      if (existing.remoteDone) return this.resetStream(id, F.STREAM_CLOSED, existing);
      if (!endStream || head.malformed !== undefined) return this.resetStream(id, F.PROTOCOL_ERROR, existing);
      return this.requestEnded(existing);
    }
    if ((id & 1) === 0 || id <= this.lastStreamId) {
      // Trailers the client sent before it saw our RST_STREAM, or after our GOAWAY: ignored.
      if ((id & 1) === 1 && (this.resetByUs.has(id) || (this.goawayId >= 0 && id > this.goawayId))) return;
      // A stream the client ended already (RFC 9113 5.1, closed) ...
      if ((id & 1) === 1 && !this.skipped.has(id)) throw new ConnectionError(F.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
      // ... or one it can no longer open (5.1.1).
      throw new ConnectionError(F.PROTOCOL_ERROR, `HEADERS opening stream ${id} (not odd, or not above ${this.lastStreamId})`);
    }
    // Ids the client skipped are closed without having been opened (RFC 9113 5.1.1).
    if (id > this.lastStreamId + 2) this.skipped.add(this.lastStreamId + 2, id - 2);
    this.lastStreamId = id;
    if (this.idleResetTimer !== undefined) {
      clearTimeout(this.idleResetTimer);
      this.idleResetTimer = undefined;
    }
    if (this.goawayId >= 0 && id > this.goawayId) return; // after our GOAWAY: ignored (RFC 9113 6.8)
    if (this.streams.size + this.resetRunning >= this.host.limits.maxConcurrentStreams) return this.resetStream(id, F.REFUSED_STREAM);
    if (head.malformed !== undefined || head.method === '' || head.path === '' || !head.scheme) {
      this.host.logger?.debug({ reason: head.malformed ?? 'missing :method, :path or :scheme' }, 'malformed gRPC request');
      return this.resetStream(id, F.PROTOCOL_ERROR);
    }
    this.openStream(id, endStream);
  }

  private openStream(id: number, endStream: boolean): void {
    const head = this.head;
    const selected = methodFor(this.host.methods, head.method, head.contentType, head.path);
    const now = Date.now();
    if (typeof selected === 'number') {
      // Not a gRPC call: answered with its HTTP status once the request has ended (its body
      // discarded); until then the stream is in the RFC's states like any other.
      const s = new H2Stream(this, id, UNUSED_METHOD, 'identity', undefined, now, this.flow.peerInitialWindow);
      s.plain = selected;
      s.refused = true;
      s.contentLength = head.contentLength;
      this.streams.set(id, s);
      if (endStream) return this.requestEnded(s);
      this.host.arriving(s);
      return;
    }
    let deadline: number | undefined;
    let error = selected instanceof GrpcError ? selected : undefined;
    if (error === undefined) {
      try {
        deadline = deadlineFrom(head.timeout, now);
      } catch (e) {
        error = e as GrpcError;
      }
    }
    const s = new H2Stream(this, id, selected instanceof GrpcError ? UNUSED_METHOD : selected, head.encoding, deadline, now, this.flow.peerInitialWindow);
    s.contentLength = head.contentLength;
    this.streams.set(id, s);
    if (error !== undefined) {
      if (endStream) s.remoteDone = true;
      status(s, error.code, error.message);
      return;
    }
    if (endStream) return this.requestEnded(s);
    this.host.arriving(s);
  }


  private onReset(buf: Buffer, id: number, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(F.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (end - start !== 4) throw new ConnectionError(F.FRAME_SIZE_ERROR, 'RST_STREAM not 4 bytes');
    if (id > this.lastStreamId) {
      // RFC 9113 5.1 makes this a connection error, and a peer that has opened no stream yet
      // gets one. But gRPC C-core, cancelling calls, resets stream ids it allocated and never
      // opened (Envoy's client had the same bug); killing the connection for it would fail
      // every call in flight on it. An odd id after the first stream: ignored, and counted.
      if ((id & 1) === 0) throw new ConnectionError(F.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
      if (this.lastStreamId === 0) {
        // Before any stream, C-core's cancel and a peer that simply breaks the rule (h2spec 5.1
        // sends the same frame: RST_STREAM(CANCEL) on stream 1) look alike. A cancelling client
        // opens a stream right after; a broken one does not. So the connection error waits
        // IDLE_RESET_GRACE_MS for a stream to open (test/grpc-interop.test.ts, test/h2spec.test.ts).
        this.idleResetTimer ??= setTimeout(() => {
          this.idleResetTimer = undefined;
          if (this.lastStreamId === 0 && !this.dead) this.fatal(new ConnectionError(F.PROTOCOL_ERROR, 'RST_STREAM on an idle stream'));
        }, IDLE_RESET_GRACE_MS);
        this.idleResetTimer.unref();
      }
      this.host.stats.idleStreamResets++;
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) return;
    // The client cancelled: nothing more is sent on this stream.
    s.localDone = s.remoteDone = true;
    this.closeStream(s);
  }

  private onSettings(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(F.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & F.ACK) {
      if (end !== start) throw new ConnectionError(F.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if ((end - start) % 6 !== 0) throw new ConnectionError(F.FRAME_SIZE_ERROR, 'SETTINGS not a multiple of 6 bytes');
    if (!this.settingsSeen) {
      this.settingsSeen = true;
      this.socket.setTimeout(this.host.idleTimeoutMs);
    }
    for (let at = start; at < end; at += 6) {
      const key = buf.readUInt16BE(at);
      const value = buf.readUInt32BE(at + 2);
      switch (key) {
        case F.SETTINGS_ENABLE_PUSH:
          if (value > 1) throw new ConnectionError(F.PROTOCOL_ERROR, 'ENABLE_PUSH not 0 or 1');
          break;
        case F.SETTINGS_INITIAL_WINDOW_SIZE:
          this.flow.setInitialWindow(value, this.streams.values());
          break;
        case F.SETTINGS_MAX_FRAME_SIZE:
          this.flow.setMaxFrame(value);
          break;
        default: // HEADER_TABLE_SIZE: we never index what we send; the rest is advisory or unknown
      }
    }
    this.out.frame(F.SETTINGS, F.ACK, 0);
    this.sendBlocked();
  }

  private onWindowUpdate(buf: Buffer, id: number, start: number, end: number): void {
    if (end - start !== 4) throw new ConnectionError(F.FRAME_SIZE_ERROR, 'WINDOW_UPDATE not 4 bytes');
    const inc = buf.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) this.flow.connectionUpdate(inc);
    else {
      const s = this.streams.get(id);
      if (s === undefined) {
        if (id > this.lastStreamId) throw new ConnectionError(F.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
        // An increment of 0 is an error whatever the stream's state (RFC 9113 6.9).
        if (inc === 0) this.out.u32(F.RST_STREAM, id, F.PROTOCOL_ERROR);
        return;
      }
      const error = this.flow.streamUpdate(s, inc);
      if (error !== undefined) return this.resetStream(id, error, s);
    }
    this.sendBlocked();
  }

  // ——— output ———

  /** A call's answer came (or failed): it no longer holds a slot, even if the client reset it. */
  answered(s: H2Stream): void {
    if (!s.running) return;
    s.running = false;
    if (s.counted) {
      s.counted = false;
      this.resetRunning--;
    }
  }

  /** Response headers, once per stream. */
  sendHeaders(s: H2Stream): void {
    s.headersSent = true;
    this.out.frame(F.HEADERS, F.END_HEADERS, s.id, RESPONSE_BLOCK);
    this.scheduleFlush();
  }

  /** An HTTP answer that is not gRPC: headers, then `body` in DATA that ends the stream. */
  sendPlain(s: H2Stream, block: Buffer, body: Buffer): void {
    s.headersSent = true;
    this.out.frame(F.HEADERS, F.END_HEADERS, s.id, block);
    if (this.flow.trySend(s, body)) this.endStream(s, END_WITHOUT_TRAILERS);
    else {
      this.flow.enqueue(s, body, END_WITHOUT_TRAILERS);
      this.sendBlocked();
    }
    this.scheduleFlush();
  }

  /** One framed message; with `end`, the OK trailers after it. Waits for window if it must. */
  sendData(s: H2Stream, data: Buffer, end: boolean): void {
    if (this.flow.trySend(s, data)) {
      if (end) this.endStream(s, OK_TRAILERS_BLOCK);
      this.scheduleFlush();
      return;
    }
    this.flow.enqueue(s, data, end ? OK_TRAILERS_BLOCK : undefined);
    this.sendBlocked();
  }

  /** Trailers (or Trailers-Only headers) that end our side of the stream. */
  endStream(s: H2Stream, block: Buffer): void {
    if (s.queue !== undefined) {
      s.queuedTrailers = block;
      return;
    }
    s.localDone = true;
    if (block === END_WITHOUT_TRAILERS) this.out.frame(F.DATA, F.END_STREAM, s.id);
    else this.out.frame(F.HEADERS, F.END_HEADERS | F.END_STREAM, s.id, block);
    if (!s.remoteDone) {
      // Answered before the request finished: ask the client to stop sending (RFC 9113 8.1).
      this.out.u32(F.RST_STREAM, s.id, F.NO_ERROR);
      this.resetByUs.add(s.id);
      s.remoteDone = true;
    }
    this.closeStream(s);
    this.scheduleFlush();
  }

  /** Sends what flow control now allows. */
  private sendBlocked(): void {
    if (!this.flow.waiting) return;
    this.flow.pump();
    this.scheduleFlush();
  }

  /** RST_STREAM with `code`; the stream, if we know it, is closed. */
  private resetStream(id: number, code: number, s?: H2Stream): void {
    this.out.u32(F.RST_STREAM, id, code);
    if (s !== undefined && !s.remoteDone) this.resetByUs.add(id);
    if (s !== undefined) {
      s.localDone = s.remoteDone = true;
      this.closeStream(s);
    }
  }

  private closeStream(s: H2Stream): void {
    if (!this.streams.delete(s.id)) return;
    // A call closed (reset by either side) while still being decided keeps a slot until it is
    // answered: a client cannot outrun MAX_CONCURRENT_STREAMS by having each stream it opens
    // reset, as in CVE-2023-44487.
    if (s.running && !s.counted) {
      s.counted = true;
      this.resetRunning++;
    }
    s.localDone = true;
    this.dropBody(s);
    this.host.arrived(s);
    const listeners = s.closeListeners;
    s.closeListeners = undefined;
    if (listeners !== undefined) for (const l of listeners) l();
    this.endIfIdle();
  }

  private writeGoaway(code: number, debug: string, lastStreamId = this.lastStreamId): void {
    this.out.frame(F.GOAWAY, 0, 0, goawayPayload(lastStreamId, code, debug));
  }

  /** A connection error: GOAWAY with its code, then the socket closes once that is written. */
  private fatal(e: unknown): void {
    const err = e instanceof ConnectionError ? e : new ConnectionError(F.INTERNAL_ERROR, 'internal error');
    if (!(e instanceof ConnectionError)) this.host.logger?.error({ err: e }, 'gRPC connection failed');
    else this.host.logger?.debug({ code: err.code, reason: err.message }, 'gRPC connection error');
    this.writeGoaway(err.code, err.message);
    this.flush();
    if (err.code === F.ENHANCE_YOUR_CALM) return this.hangUp();
    this.dead = true;
    this.socket.destroySoon();
    // A client that does not read would keep destroySoon() waiting: it gets a second.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private endIfIdle(): void {
    if (this.goawayId >= 0 && this.streams.size === 0 && !this.dead) {
      this.flush();
      this.dead = true;
      this.socket.end();
    }
  }

  /** An answer given outside onData (an asynchronous decision, a Watch update) goes out in a microtask, with any others given in the same turn. */
  private scheduleFlush(): void {
    if (this.flushQueued || this.reading) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  /** Writes what was gathered in one socket write; then holds the connection to its output budget. */
  flush(): void {
    this.flushQueued = false;
    if (this.out.length === 0 || !this.socket.writable) {
      this.out.length = 0;
      return;
    }
    this.socket.write(this.out.take());
    if (!this.dead) this.budgetOutput();
  }

  /**
   * Output the client does not read stays in this process. Past its own limit a connection is
   * no longer read (a client that only sends PINGs gets no more answers queued), and is closed
   * if its client has not read it all within limits.outputStallMs; at 4 times the limit it is
   * closed at once. When all connections together pass the process's budget, those holding
   * more than their share (the budget over the open connections) are closed, the largest
   * first (host.holders, output-heap.ts): a flood of
   * clients that never read cannot hold more than the budget and one write
   * (test/h2-flood.test.ts).
   */
  private budgetOutput(): void {
    const unsent = this.socket.writableLength;
    const host = this.host;
    if (unsent !== this.unsent) {
      host.unsent += unsent - this.unsent;
      this.unsent = unsent;
      host.holders.update(this);
      // The total rises only here (another connection's rise is its own call).
      if (host.unsent > host.stats.unsentPeak) host.stats.unsentPeak = host.unsent;
    }
    const { connectionOutputBytes, outputBudgetBytes, outputStallMs } = host.limits;
    if (unsent > 4 * connectionOutputBytes) return this.shed('output not read');
    if (host.unsent > outputBudgetBytes) {
      // Whoever holds more than its share goes, this one first, then the largest holders, until
      // all together are back within the budget: after this write, since all within their
      // shares are within it. Past the budget the largest holds more than its share, so each
      // step closes one (or sets aside a dead one, which holds output until its socket closes):
      // O(log n) a step, not a walk over every connection.
      const share = outputBudgetBytes / host.connections.size;
      if (unsent > share) this.shed('output not read, over its share of the process budget');
      for (let c = host.holders.peek(); c !== undefined && host.unsent > outputBudgetBytes && c.unsent > share; c = host.holders.peek()) {
        if (c.dead) host.holders.remove(c);
        else c.shed('output not read, over its share of the process budget');
      }
      if (this.dead) return;
    }
    if (!this.paused && unsent > connectionOutputBytes) {
      this.paused = true;
      this.socket.pause();
      this.stallTimer = setTimeout(() => this.shed(`output not read within ${outputStallMs} ms`), outputStallMs);
      this.stallTimer.unref();
    }
  }

  /**
   * Closes a connection whose client does not read its answers: GOAWAY ENHANCE_YOUR_CALM queued
   * behind them (written past the frame buffer: budgetOutput runs after a flush), nothing more
   * read, and — since it still holds output — the socket destroyed at once by hangUp(): that
   * output is what must go, so the GOAWAY reaches only a client that had read up to it already.
   */
  private shed(reason: string): void {
    if (this.dead) return;
    this.host.stats.outputClosed++;
    this.host.logger?.debug({ unsent: this.unsent, total: this.host.unsent, reason }, 'gRPC connection closed: its client does not read its answers');
    this.forget();
    clearTimeout(this.stallTimer);
    this.socket.write(goaway(this.lastStreamId, F.ENHANCE_YOUR_CALM, reason));
    this.hangUp();
  }

  /**
   * Ends a connection closed for abuse. One whose output is all with the kernel (a PING
   * flood caught by the control-frame cap) is read no more (what its client keeps sending is
   * not even parsed), its GOAWAY goes out with a FIN, and the socket is destroyed
   * CALM_LINGER_MS later: meanwhile it costs a descriptor and no work, and a client that
   * reconnects once its connection is gone gets a new one that often at most, not as often as
   * it can be caught (bench/flood.mjs). One that still holds output here is destroyed at once:
   * that output is what must go.
   */
  private hangUp(): void {
    this.dead = true;
    this.socket.pause();
    this.closeStreams(); // what its requests hold is given back now
    if (this.socket.writableLength > 0) {
      this.socket.destroy();
      return;
    }
    this.socket.end();
    this.lingerTimer = setTimeout(() => this.socket.destroy(), CALM_LINGER_MS * (1 + Math.random() / 2));
    this.lingerTimer.unref();
  }

  /** Takes this connection's unsent output out of the process total (closing, or drained). */
  private forget(): void {
    this.host.unsent -= this.unsent;
    this.unsent = 0;
    this.host.holders.remove(this);
  }

  private onDrain(): void {
    this.forget();
    if (!this.paused || this.dead) return;
    this.paused = false;
    clearTimeout(this.stallTimer);
    this.socket.resume();
  }

  /**
   * Takes a PING or SETTINGS from the connection's allowance, a token bucket that refills at
   * maxControlFramesPerSecond and holds a tenth of that (at least CONTROL_BURST_MIN): a flood
   * is caught in its first burst, not after a second's worth of answers. Empty, the connection
   * is closed. The clock is read per frame (about 50 ns), not kept per read: the bucket itself
   * bounds how many frames a connection gets that far (burst + rate a second).
   */
  private control(): void {
    const now = Date.now();
    const rate = this.host.limits.maxControlFramesPerSecond;
    const burst = Math.max(CONTROL_BURST_MIN, rate / 10);
    this.controlTokens = this.controlAt === 0 ? burst : Math.min(burst, this.controlTokens + ((now - this.controlAt) * rate) / 1000);
    this.controlAt = now;
    if (--this.controlTokens < 0) {
      this.host.stats.controlFloods++;
      throw new ConnectionError(F.ENHANCE_YOUR_CALM, `over ${rate} PING and SETTINGS frames a second`);
    }
  }

  private onClose(): void {
    this.dead = true;
    this.forget();
    clearTimeout(this.drainTimer);
    clearTimeout(this.idleResetTimer);
    clearTimeout(this.stallTimer);
    clearTimeout(this.lingerTimer);
    this.closeStreams();
    this.host.closed(this);
  }

  private closeStreams(): void {
    for (const s of [...this.streams.values()]) {
      s.remoteDone = true;
      this.closeStream(s);
    }
  }
}

function goawayPayload(lastStreamId: number, code: number, debug: string): Buffer {
  const payload = Buffer.alloc(8 + Buffer.byteLength(debug));
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  payload.write(debug, 8);
  return payload;
}

/** A GOAWAY frame on its own, written past the frame buffer (see budgetOutput). */
function goaway(lastStreamId: number, code: number, debug: string): Buffer {
  const payload = goawayPayload(lastStreamId, code, debug);
  const frame = Buffer.alloc(9 + payload.length);
  frame.writeUIntBE(payload.length, 0, 3);
  frame[3] = F.GOAWAY;
  payload.copy(frame, 9);
  return frame;
}

const EMPTY = Buffer.alloc(0);
/** The method of a stream answered with an error before any method ran. */
const UNUSED_METHOD: GrpcMethod = { kind: 'unary', handle: () => EMPTY };
