/**
 * The `h2` gRPC transport (`server.grpc_transport: h2`, the default): our own HTTP/2 server on
 * node:net, for the sidecar's few methods (connection.ts). Same methods, statuses and limits as the
 * native transport on node:http2; what it saves is node:http2's per-stream objects and the
 * garbage they leave (bench/README.md measures both).
 */
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { limitConnections, type ConnectionLimits } from '../../listeners/connection-gate.js';
import { createSocketServer, type TlsCredentials } from '../../listeners/tls.js';
import { ArrivalList, Listener, runCall, type GrpcMethod } from '../call.js';
import { Status } from '../wire.js';
import { H2Connection, type ConnectionHost, type H2Stats } from './connection.js';
import { OutputHeap } from './output-heap.js';
import { H2_LIMIT_DEFAULTS, type H2Limits } from './limits.js';
import { H2_RESPONDER } from './responder.js';
import type { H2Stream } from './stream.js';

export interface H2ServerOptions {
  maxReceiveBytes: number;
  /** A request must have fully arrived this long after its headers (and a new connection must send its preface within it). */
  requestTimeoutMs?: number;
  /** Output, stream and control-frame limits (limits.ts); each unset one has its default. */
  limits?: Partial<H2Limits>;
  /** A connection with no traffic this long after its handshake is closed (GOAWAY). Default 5 minutes. */
  idleTimeoutMs?: number;
  /** Unfinished request bytes all connections together may hold. Default 256 MiB (or 16 × maxReceiveBytes, if larger). */
  maxBufferedBytes?: number;
  logger?: Logger;
  connections?: ConnectionLimits;
  /** TLS with ALPN h2 (listeners/tls.ts); plain text without. */
  tls?: TlsCredentials;
}

/** Without http_request_timeout_ms, a connection still must start HTTP/2 within this. */
const DEFAULT_PREFACE_TIMEOUT_MS = 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

export class H2GrpcServer implements ConnectionHost {
  private readonly server: Server;
  readonly connections = new Set<H2Connection>();
  private readonly waiting = new ArrivalList<H2Stream>();
  private readonly listener: Listener;
  readonly maxReceiveBytes: number;
  readonly limits: H2Limits;
  readonly logger: Logger | undefined;
  readonly idleTimeoutMs: number;
  readonly maxBufferedBytes: number;
  buffered = 0;
  unsent = 0;
  readonly holders = new OutputHeap<H2Connection>();
  readonly stats: H2Stats = { idleStreamResets: 0, outputClosed: 0, controlFloods: 0, unsentPeak: 0 };

  constructor(readonly methods: ReadonlyMap<string, GrpcMethod>, private readonly opts: H2ServerOptions) {
    this.maxReceiveBytes = opts.maxReceiveBytes;
    this.limits = { ...H2_LIMIT_DEFAULTS, ...opts.limits };
    this.logger = opts.logger;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? Math.max(256 * 1024 * 1024, 16 * opts.maxReceiveBytes);
    this.server = createSocketServer(opts.tls, (socket) => this.accept(socket), {
      alpn: ['h2'],
      handshakeTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_PREFACE_TIMEOUT_MS,
    });
    if (opts.connections) limitConnections(this.server, opts.connections);
    this.listener = new Listener(this.server, this.connections, opts.requestTimeoutMs, (before) => this.expire(before));
  }

  private accept(socket: Socket): void {
    const conn = new H2Connection(socket, this);
    this.connections.add(conn);
    // A client must send the preface and its SETTINGS within the request timeout, counted
    // from accept (not from its last byte: trickling does not extend it). After that the
    // connection arms the socket's inactivity timeout with the idle timeout.
    const handshake = setTimeout(() => {
      if (!conn.started) socket.destroy();
    }, this.opts.requestTimeoutMs ?? DEFAULT_PREFACE_TIMEOUT_MS);
    handshake.unref();
    socket.once('close', () => clearTimeout(handshake));
    socket.on('timeout', () => conn.idle());
  }

  listen(host: string, port: number): Promise<number> {
    return this.listener.listen(host, port);
  }

  /** No new connections, GOAWAY on open ones; resolves when in-flight calls finish or `graceMs` passes. */
  shutdown(graceMs: number): Promise<void> {
    return this.listener.shutdown(graceMs);
  }

  /** Requests late past the request timeout, and answers that waited as long for flow-control window. */
  private expire(startedBefore: number): void {
    this.waiting.expire(startedBefore, (s) => {
      H2_RESPONDER.status(s, Status.DEADLINE_EXCEEDED, `request not received within ${this.opts.requestTimeoutMs} ms`);
      s.conn.flush();
    });
    for (const c of this.connections) c.expireBlocked(startedBefore);
  }

  // ConnectionHost
  arriving(s: H2Stream): void {
    if (this.opts.requestTimeoutMs !== undefined) this.waiting.add(s);
  }

  arrived(s: H2Stream): void {
    this.waiting.remove(s);
  }

  run(s: H2Stream, body: Buffer): void {
    runCall(s, H2_RESPONDER, s.method, body, s.encoding, s.deadline, this.maxReceiveBytes, this.logger);
  }

  closed(c: H2Connection): void {
    this.connections.delete(c);
  }
}
