/**
 * The ext_authz v3 gRPC server, on one of three transports (`server.grpc_transport`):
 * `h2` (default) — our own HTTP/2 server on node:net (h2/); `native` — our gRPC server on
 * node:http2 (native-server.ts); or `grpc-js` — @grpc/grpc-js, kept as the reference
 * implementation and a fallback. Both use our CheckRequest decoder and
 * CheckResponse encoder in place of proto-loader's (same protos, same wire format), so the hot
 * path builds only what a decision needs and a cache hit answers synchronously.
 */
import type { Logger } from 'pino';
import type { ConnectionLimits } from '../../listeners/connection-gate.js';
import type { TlsCredentials } from '../../listeners/tls.js';
import type { CheckPipeline } from '../../pipeline/check.js';
import type { CheckResult } from '../../pipeline/result.js';
import type { RuntimeState } from '../../pipeline/state.js';
import { RequestError } from '../../core/errors.js';
import { decodeCheckRequest, isDecodeFailure, type DecodeFailure, type EnvoyCheck } from './decode-check-request.js';
import { fromCheckRequest } from './from-check-request.js';
import { frameMessage, GrpcError, Status } from './grpc-wire.js';
import { decodeHealthRequest, encodeHealthResponse, HealthService, type ServingStatus } from './health.js';
import type { NativeMethod } from './grpc-call.js';
import { H2GrpcServer } from './h2/server.js';
import { NativeGrpcServer } from './native-server.js';
import { encodeCheckResponseFrame } from './to-check-response.js';

export type GrpcTransportName = 'native' | 'h2' | 'grpc-js';

export interface EnvoyServerOptions {
  maxReceiveBytes: number;
  /** Native transport: how long a request message may take to arrive after its headers. */
  requestTimeoutMs?: number;
  transport?: GrpcTransportName;
  logger?: Logger;
  /** Connection caps of the listener (server.max_connections, max_connections_per_peer). */
  connections?: ConnectionLimits;
  /** TLS (ALPN h2) with these credentials; plain-text HTTP/2 without. */
  tls?: TlsCredentials;
}

/** What the app needs of a gRPC server, whichever the transport. */
export interface GrpcTransport {
  /** Resolves to the bound port (0 → a free one). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, sends GOAWAY, lets in-flight calls finish within `graceMs`. */
  shutdown(graceMs: number): Promise<void>;
}

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';

/**
 * One Check, transport aside. Always a CheckResult, never an exception: a gRPC error would
 * let Envoy apply its own failure_mode_allow instead of the sidecar's fail_mode.
 */
export function answerCheck(pipeline: CheckPipeline, req: EnvoyCheck | DecodeFailure, deadline: number | undefined): CheckResult | Promise<CheckResult> {
  try {
    if (isDecodeFailure(req)) return pipeline.reject('envoy', new RequestError('invalid_request', req.decodeError));
    const raw = fromCheckRequest(req);
    if (deadline !== undefined) raw.deadline = deadline;
    return pipeline.check(raw);
  } catch {
    return pipeline.fail('envoy', 'evaluation_error');
  }
}

export async function createEnvoyServer(pipeline: CheckPipeline, state: RuntimeState, opts: EnvoyServerOptions) {
  const health = new HealthService(state);
  // grpc-js and proto-loader (~10 MiB of heap and code) load only when chosen.
  const server = opts.transport === 'grpc-js'
    ? (await import('./grpc-js-transport.js')).grpcJsTransport(pipeline, health, opts)
    : nativeTransport(pipeline, health, opts);
  return { server, health };
}

function nativeTransport(pipeline: CheckPipeline, health: HealthService, opts: EnvoyServerOptions): GrpcTransport {
  const failed = () => encodeCheckResponseFrame(pipeline.fail('envoy', 'evaluation_error'));
  const healthFrame = (s: ServingStatus) => frameMessage(encodeHealthResponse(s));
  const methods = new Map<string, NativeMethod>([
    [CHECK_PATH, {
      kind: 'unary',
      handle(message, deadline) {
        const r = answerCheck(pipeline, decodeCheckRequest(message), deadline);
        return r instanceof Promise ? r.then(encodeCheckResponseFrame, failed) : encodeCheckResponseFrame(r);
      },
    }],
    [HEALTH_CHECK_PATH, {
      kind: 'unary',
      handle(message) {
        const service = healthService(message);
        const status = health.check(service);
        if (status === undefined) throw new GrpcError(Status.NOT_FOUND, `unknown service "${service}"`);
        return healthFrame(status);
      },
    }],
    [HEALTH_WATCH_PATH, {
      kind: 'stream',
      handle(message, call) {
        const unwatch = health.watch({ service: healthService(message), send: (s) => call.write(healthFrame(s)), end: () => call.end() });
        call.onClose(unwatch);
      },
    }],
  ]);
  const serverOpts = { maxReceiveBytes: opts.maxReceiveBytes, requestTimeoutMs: opts.requestTimeoutMs, logger: opts.logger, connections: opts.connections, tls: opts.tls };
  const server = opts.transport === 'h2' ? new H2GrpcServer(methods, serverOpts) : new NativeGrpcServer(methods, serverOpts);
  return { listen: (host, port) => server.listen(host, port), shutdown: (graceMs) => server.shutdown(graceMs) };
}

function healthService(message: Buffer): string {
  try {
    return decodeHealthRequest(message);
  } catch {
    throw new GrpcError(Status.INTERNAL, 'Failed to parse HealthCheckRequest');
  }
}
