/**
 * What the two HTTP/2 transports we wrote (node-http2-server.ts on node:http2, h2/ on node:net)
 * share above the wire: the method table's types, running one call once its request has
 * arrived, the list of calls still waiting for their request (http_request_timeout_ms), and
 * binding, sweeping and closing the listener.
 */
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { GrpcError, singleMessage, Status } from './wire.js';

/** A unary method: the request message (decompressed) → the framed response message. */
export interface UnaryMethod {
  readonly kind: 'unary';
  handle(message: Buffer, deadline: number | undefined): Buffer | Promise<Buffer>;
}

/** The server side of a server-streaming call. */
export interface StreamCall {
  /** Sends one framed message (the response headers first, on the first). */
  write(frame: Buffer): void;
  /** Ends the call with status OK. */
  end(): void;
  /** Runs once when the call is over, however it ended. */
  onClose(listener: () => void): void;
}

/** A server-streaming method: the request message and a call to write framed messages to. */
export interface StreamMethod {
  readonly kind: 'stream';
  handle(message: Buffer, call: StreamCall): void;
}

export type GrpcMethod = UnaryMethod | StreamMethod;

/**
 * What a request's headers select: the method to run; the HTTP status for a request that is
 * not a gRPC call (405: not POST, 415: not a gRPC content type); or the error for an unknown
 * method. Allocates only on the error path.
 */
export function methodFor(methods: ReadonlyMap<string, GrpcMethod>, httpMethod: string | undefined, contentType: string | undefined, path: string): GrpcMethod | 405 | 415 | GrpcError {
  if (httpMethod !== 'POST') return 405;
  if (contentType === undefined || !contentType.startsWith('application/grpc')) return 415;
  return methods.get(path) ?? new GrpcError(Status.UNIMPLEMENTED, `The server does not implement the method ${path}`);
}

/** How a transport answers on its own kind of stream; one shared object, so no allocation per call. */
export interface Responder<S> {
  /** The response message, then the OK trailers (nothing if the call is already over). */
  message(stream: S, frame: Buffer): void;
  /** A status without a message: gRPC's Trailers-Only (nothing if the call is already over). */
  status(stream: S, code: number, message: string): void;
  streamCall(stream: S): StreamCall;
}

function failCall<S>(stream: S, r: Responder<S>, e: unknown, logger: Logger | undefined): void {
  if (e instanceof GrpcError) return r.status(stream, e.code, e.message);
  logger?.error({ err: e }, 'gRPC handler failed');
  r.status(stream, Status.INTERNAL, 'internal error');
}

/** Runs `method` on the request `body` and answers on `stream` through `r`. */
export function runCall<S>(stream: S, r: Responder<S>, method: GrpcMethod, body: Buffer, encoding: string, deadline: number | undefined, maxBytes: number, logger?: Logger): void {
  let out: Buffer | Promise<Buffer>;
  try {
    const message = singleMessage(body, encoding, maxBytes);
    if (method.kind === 'stream') {
      method.handle(message, r.streamCall(stream));
      return;
    }
    out = method.handle(message, deadline);
  } catch (e) {
    failCall(stream, r, e, logger);
    return;
  }
  if (out instanceof Promise) out.then((frame) => r.message(stream, frame), (e: unknown) => failCall(stream, r, e, logger));
  else r.message(stream, out);
}

/** A call on the arrival list: linked in place, so listing it allocates nothing. */
export interface Arriving<T> {
  readonly started: number;
  older: T | undefined;
  newer: T | undefined;
  listed: boolean;
}

/** Calls whose request has not fully arrived, oldest first; a sweep stops at the first young one. */
export class ArrivalList<T extends Arriving<T>> {
  private oldest: T | undefined;
  private newest: T | undefined;

  add(c: T): void {
    c.listed = true;
    c.older = this.newest;
    if (this.newest !== undefined) this.newest.newer = c;
    else this.oldest = c;
    this.newest = c;
  }

  remove(c: T): void {
    if (!c.listed) return;
    c.listed = false;
    if (c.older !== undefined) c.older.newer = c.newer;
    else this.oldest = c.newer;
    if (c.newer !== undefined) c.newer.older = c.older;
    else this.newest = c.older;
    c.older = c.newer = undefined;
  }

  /** Removes every call started before `startedBefore` and hands it to `expired`. */
  expire(startedBefore: number, expired: (c: T) => void): void {
    for (let c = this.oldest; c !== undefined && c.started < startedBefore; c = this.oldest) {
      this.remove(c);
      expired(c);
    }
  }
}

/** A connection as the listener sees it: closed gracefully (GOAWAY) or at once. */
export interface Closable {
  close(): void;
  destroy(): void;
}

/** Binding, the sweep of calls whose request is late, and graceful shutdown of a transport's server. */
export class Listener {
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: Server,
    private readonly connections: ReadonlySet<Closable>,
    private readonly requestTimeoutMs: number | undefined,
    /** Answers calls whose request started before the time given and has still not arrived. */
    private readonly expire: (startedBefore: number) => void,
  ) {}

  /** Resolves to the bound port (0 → a free one). */
  listen(host: string, port: number): Promise<number> {
    const timeout = this.requestTimeoutMs;
    if (timeout !== undefined && this.sweeper === undefined) {
      // One sweep a second (or sooner for short limits) instead of a timer per call.
      this.sweeper = setInterval(() => this.expire(Date.now() - timeout), Math.min(1000, timeout));
      this.sweeper.unref();
    }
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  /** No new connections, GOAWAY on open ones; resolves when in-flight calls finish or `graceMs` passes. */
  shutdown(graceMs: number): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        for (const c of this.connections) c.destroy();
      }, graceMs);
      this.server.close(() => {
        clearTimeout(force);
        resolve();
      });
      for (const c of this.connections) c.close();
    });
  }
}
