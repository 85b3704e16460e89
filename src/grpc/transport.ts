/**
 * What an application needs of a gRPC server, whichever transport serves it: `h2` (h2/, our
 * HTTP/2 server on node:net, the default), `native` (node-http2-server.ts, on node:http2, the
 * baseline h2 is measured and conformance-checked against) or grpc-js (in the Envoy adapter,
 * the reference implementation and fallback).
 */
import type { Logger } from 'pino';
import type { ConnectionLimits } from '../listeners/connection-gate.js';
import type { TlsCredentials } from '../listeners/tls.js';
import type { GrpcMethod } from './call.js';
import type { H2Stats } from './h2/connection.js';
import type { H2Limits } from './h2/limits.js';
import { H2GrpcServer } from './h2/server.js';
import { NodeHttp2GrpcServer } from './node-http2-server.js';

export interface GrpcTransport {
  /** Resolves to the bound port (0 → a free one). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, sends GOAWAY, lets in-flight calls finish within `graceMs`. */
  shutdown(graceMs: number): Promise<void>;
  /** What peers did that the transport tolerated or stopped, counted since start, and the unsent output it holds now (h2 only). */
  stats?(): Readonly<H2Stats & { unsent: number }>;
}

export interface GrpcServerOptions {
  maxReceiveBytes: number;
  /** A request message must have fully arrived this long after its headers (and a connection must start HTTP/2 within it). */
  requestTimeoutMs?: number;
  logger?: Logger;
  /** Connection caps of the listener (server.max_connections, max_connections_per_peer). */
  connections?: ConnectionLimits;
  /** TLS with ALPN h2 (listeners/tls.ts); plain-text HTTP/2 without. */
  tls?: TlsCredentials;
  /** The h2 transport's output, stream and control-frame limits (h2/limits.ts). */
  limits?: Partial<H2Limits>;
}

/** A gRPC server for `methods` on our HTTP/2 server (`h2`) or on node:http2 (`native`). */
export function serveMethods(kind: 'h2' | 'native', methods: ReadonlyMap<string, GrpcMethod>, opts: GrpcServerOptions): GrpcTransport {
  if (kind === 'h2') {
    const h2 = new H2GrpcServer(methods, opts);
    return { listen: (host, port) => h2.listen(host, port), shutdown: (graceMs) => h2.shutdown(graceMs), stats: () => ({ ...h2.stats, unsent: h2.unsent }) };
  }
  const server = new NodeHttp2GrpcServer(methods, opts);
  return { listen: (host, port) => server.listen(host, port), shutdown: (graceMs) => server.shutdown(graceMs) };
}
