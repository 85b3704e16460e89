/**
 * The `native` gRPC transport: a gRPC server on node:http2 for a method table (call.ts).
 * Kept as the baseline the `h2` transport is measured against (bench `h2-vs-native`) and
 * checked against for conformance (h2spec: no case may fail on h2 that passes here). Against
 * grpc-js it saves the per-call machinery — interceptor chain, Metadata objects, a deadline
 * timer per call, stream decoders; a call is: read the one request message, hand it to the
 * method, write one DATA frame and the trailers from constant header objects. Behaviour
 * follows grpc-js where the spec leaves a choice (status codes and messages for bad input).
 */
import http2, { type Http2SecureServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { limitConnections, type ConnectionLimits } from '../listeners/connection-gate.js';
import type { TlsCredentials } from '../listeners/tls.js';
import { ArrivalList, Listener, methodFor, runCall, type Arriving, type GrpcMethod, type Responder, type StreamCall } from './call.js';
import { deadlineFrom, GrpcError, Status, statusFields, tooLarge } from './wire.js';

export interface NodeHttp2ServerOptions {
  maxReceiveBytes: number;
  /**
   * A request message must have fully arrived this long after its headers, or the call is
   * answered DEADLINE_EXCEEDED: a client that never ends its stream cannot hold it open.
   */
  requestTimeoutMs?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS per connection. */
  maxConcurrentStreams?: number;
  logger?: Logger;
  connections?: ConnectionLimits;
  /** TLS with ALPN h2 (listeners/tls.ts); plain text without. */
  tls?: TlsCredentials;
}

// The least a gRPC response needs (grpc-encoding defaults to identity; grpc-accept-encoding is
// only sent when a request used an encoding we lack). Every header costs node:http2 a copy, a
// validation and an HPACK entry per call.
const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
// sendDate: node:http2 would add a `date` header (a runtime option its typings omit).
const RESPOND_OPTIONS = { waitForTrailers: true, sendDate: false };
const TRAILERS_ONLY_OPTIONS = { endStream: true, sendDate: false };
const OK_TRAILERS = { 'grpc-status': '0' };

function ignore(): void {}

// A plain listener, not once(): node:http2 emits 'wantTrailers' once per stream, and never on
// one destroyed or closed; once() would allocate a wrapper (a state object and a bound
// function) per call.
function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

function gone(stream: ServerHttp2Stream): boolean {
  return stream.destroyed || stream.closed;
}

/** A status without a message: one HEADERS frame that ends the stream (gRPC "Trailers-Only"). */
function trailersOnly(stream: ServerHttp2Stream, code: number, message: string): void {
  if (gone(stream) || stream.headersSent) return;
  const headers: Record<string, string | number> = { ...RESPONSE_HEADERS };
  for (const [name, value] of statusFields(code, message)) headers[name] = value;
  stream.respond(headers, TRAILERS_ONLY_OPTIONS);
}

function respondMessage(stream: ServerHttp2Stream, frame: Buffer): void {
  // The client cancelled or its deadline passed, or the call was already answered (timed out).
  if (gone(stream) || stream.headersSent) return;
  stream.respond(RESPONSE_HEADERS, RESPOND_OPTIONS);
  stream.on('wantTrailers', sendOkTrailers);
  stream.end(frame);
}

class ServerStreamCall implements StreamCall {
  private started = false;

  constructor(private readonly stream: ServerHttp2Stream) {}

  write(frame: Buffer): void {
    if (gone(this.stream)) return;
    if (!this.started) {
      this.started = true;
      this.stream.respond(RESPONSE_HEADERS, RESPOND_OPTIONS);
      this.stream.on('wantTrailers', sendOkTrailers);
    }
    this.stream.write(frame);
  }

  /** Ends the call with status OK. */
  end(): void {
    if (gone(this.stream)) return;
    if (this.started) this.stream.end();
    else trailersOnly(this.stream, Status.OK, 'OK');
  }

  onClose(listener: () => void): void {
    this.stream.once('close', listener);
  }
}

/**
 * One call whose request message is still arriving. Its listeners are shared functions that
 * find the call on the stream (kCall), not closures made per call: under load every in-flight
 * call lives through a scavenge, and what it holds is copied — and often promoted.
 */
class Incoming implements Arriving<Incoming> {
  first: Buffer | undefined = undefined;
  parts: Buffer[] | undefined = undefined;
  size = 0;
  refused = false;
  /** The server's list of calls still receiving, oldest first (requestTimeoutMs). */
  older: Incoming | undefined = undefined;
  newer: Incoming | undefined = undefined;
  listed = false;

  constructor(
    readonly server: NodeHttp2GrpcServer,
    readonly stream: ServerHttp2Stream,
    readonly method: GrpcMethod,
    readonly deadline: number | undefined,
    readonly encoding: string,
    readonly started: number,
  ) {}
}

const kCall = Symbol('ascend.grpc.call');
type CallStream = ServerHttp2Stream & { [kCall]: Incoming };

function onCallData(this: CallStream, chunk: Buffer): void {
  const c = this[kCall];
  if (c.refused) return;
  c.size += chunk.length;
  const max = c.server.maxReceiveBytes;
  if (c.size > max + 5) {
    // Answer now and discard the rest: a client cannot make us buffer past the limit (the
    // 5-byte frame prefix + the largest message).
    c.refused = true;
    c.first = c.parts = undefined;
    const e = tooLarge(c.size - 5, max);
    trailersOnly(this, e.code, e.message);
    return;
  }
  // Nearly every request is one DATA chunk; more are gathered only when they come.
  if (c.first === undefined) c.first = chunk;
  else (c.parts ??= [c.first]).push(chunk);
}

function onCallEnd(this: CallStream): void {
  const c = this[kCall];
  c.server.received(c);
}

export class NodeHttp2GrpcServer {
  private readonly server: Http2Server | Http2SecureServer;
  private readonly sessions = new Set<ServerHttp2Session>();
  /** Calls whose request has not fully arrived (requestTimeoutMs). */
  private readonly arriving = new ArrivalList<Incoming>();
  private readonly listener: Listener;
  /** The largest request message accepted. Internal (read by the shared data listener). */
  readonly maxReceiveBytes: number;

  constructor(private readonly methods: ReadonlyMap<string, GrpcMethod>, private readonly opts: NodeHttp2ServerOptions) {
    this.maxReceiveBytes = opts.maxReceiveBytes;
    const h2Options = {
      // Node's default (10 MB of buffered frames per connection) refuses streams under a burst
      // on one busy Envoy connection; grpc-js lifts it the same way.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      settings: { maxConcurrentStreams: opts.maxConcurrentStreams ?? 1000 },
    };
    const tls = opts.tls;
    if (tls === undefined) this.server = http2.createServer(h2Options);
    else {
      const secure = http2.createSecureServer({ ...h2Options, ...tls.serverOptions(), handshakeTimeout: opts.requestTimeoutMs });
      tls.attach(secure);
      this.server = secure;
    }
    this.server.on('session', (s: ServerHttp2Session) => {
      this.sessions.add(s);
      s.once('close', () => this.sessions.delete(s));
      s.on('error', (err) => opts.logger?.debug({ err }, 'gRPC connection error'));
    });
    this.server.on('sessionError', ignore);
    // node:http2 has no timeout for a client that never sends its preface.
    if (opts.connections) limitConnections(this.server, { ...opts.connections, firstByteTimeoutMs: opts.requestTimeoutMs });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.listener = new Listener(this.server, this.sessions, opts.requestTimeoutMs, (before) => this.expire(before));
  }

  listen(host: string, port: number): Promise<number> {
    return this.listener.listen(host, port);
  }

  /** No new connections, GOAWAY on open ones; resolves when in-flight calls finish or `graceMs` passes. */
  shutdown(graceMs: number): Promise<void> {
    return this.listener.shutdown(graceMs);
  }

  /** Answers calls whose request started before `startedBefore` and has still not arrived. */
  private expire(startedBefore: number): void {
    this.arriving.expire(startedBefore, (c) => {
      if (!gone(c.stream)) trailersOnly(c.stream, Status.DEADLINE_EXCEEDED, `request not received within ${this.opts.requestTimeoutMs} ms`);
    });
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    // An 'error' without a listener would throw; the 'close' that follows is what matters.
    stream.on('error', ignore);
    const method = methodFor(this.methods, headers[':method'], headers['content-type'], headers[':path'] ?? '');
    if (typeof method === 'number') {
      stream.respond({ ':status': method }, { endStream: true });
      return;
    }
    if (method instanceof GrpcError) {
      trailersOnly(stream, method.code, method.message);
      return;
    }
    const now = Date.now();
    let deadline: number | undefined;
    try {
      deadline = deadlineFrom(headers['grpc-timeout'], now);
    } catch (e) {
      trailersOnly(stream, (e as GrpcError).code, (e as GrpcError).message);
      return;
    }
    const encoding = typeof headers['grpc-encoding'] === 'string' ? headers['grpc-encoding'] : 'identity';
    const c = new Incoming(this, stream, method, deadline, encoding, now);
    (stream as CallStream)[kCall] = c;
    if (this.opts.requestTimeoutMs !== undefined) this.arriving.add(c);
    stream.on('data', onCallData);
    stream.on('end', onCallEnd);
  }

  /** The whole request message of `c` has arrived (its stream ended): decode it and run the method. Internal. */
  received(c: Incoming): void {
    this.arriving.remove(c);
    const stream = c.stream;
    // Nothing reads the call's state after this. A closed stream outlives scavenges (node:http2
    // keeps it reachable for them; bench/README "Memory and garbage"), and what hangs off it is
    // promoted with it.
    (stream as Partial<CallStream>)[kCall] = undefined;
    if (c.refused || stream.headersSent) return;
    const body = c.parts !== undefined ? Buffer.concat(c.parts, c.size) : (c.first ?? Buffer.alloc(0));
    c.first = c.parts = undefined;
    runCall(stream, RESPONDER, c.method, body, c.encoding, c.deadline, this.maxReceiveBytes, this.opts.logger);
  }
}

const RESPONDER: Responder<ServerHttp2Stream> = {
  message: respondMessage,
  status: trailersOnly,
  streamCall: (stream) => new ServerStreamCall(stream),
};
