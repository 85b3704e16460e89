/**
 * The ext_authz v3 gRPC server: the Envoy method table (Check, plus grpc.health.v1) on one of
 * three transports (`server.grpc_transport`): `h2` (default) — our own HTTP/2 server
 * (src/grpc/h2/); `native` — the same methods on node:http2 (src/grpc/node-http2-server.ts),
 * the baseline h2 is measured and conformance-checked against; or `grpc-js` — @grpc/grpc-js,
 * the reference implementation and a fallback (grpc-js-transport.ts). All use our
 * CheckRequest decoder and CheckResponse encoder in place of proto-loader's (same protos, same
 * wire format), so the hot path builds only what a decision needs and a cache hit answers
 * synchronously.
 */
import type { CheckPipeline } from '../../pipeline/check.js';
import type { RuntimeState } from '../../pipeline/state.js';
import type { GrpcMethod } from '../../grpc/call.js';
import { HealthService, healthMethods } from '../../grpc/health.js';
import { serveMethods, type GrpcServerOptions, type GrpcTransport } from '../../grpc/transport.js';
import { answerCheck } from './answer-check.js';
import { decodeCheckRequest } from './decode-check-request.js';
import { encodeCheckResponseFrame } from './to-check-response.js';

export type GrpcTransportName = 'native' | 'h2' | 'grpc-js';

export interface EnvoyServerOptions extends GrpcServerOptions {
  transport?: GrpcTransportName;
}

export const AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';
const CHECK_PATH = `/${AUTHZ_SERVICE}/Check`;

/** The methods the sidecar serves: Check, and the health service for "" and Authorization. */
export function envoyMethods(pipeline: CheckPipeline, health: HealthService): Map<string, GrpcMethod> {
  const failed = () => encodeCheckResponseFrame(pipeline.fail('envoy', 'evaluation_error'));
  return new Map<string, GrpcMethod>([
    [CHECK_PATH, {
      kind: 'unary',
      handle(message, deadline) {
        const r = answerCheck(pipeline, decodeCheckRequest(message), deadline);
        return r instanceof Promise ? r.then(encodeCheckResponseFrame, failed) : encodeCheckResponseFrame(r);
      },
    }],
    ...healthMethods(health),
  ]);
}

export async function createEnvoyServer(pipeline: CheckPipeline, state: RuntimeState, opts: EnvoyServerOptions): Promise<{ server: GrpcTransport; health: HealthService }> {
  const health = new HealthService(() => state.ready, [AUTHZ_SERVICE]);
  // grpc-js and proto-loader (~10 MiB of heap and code) load only when chosen.
  const server = opts.transport === 'grpc-js'
    ? (await import('./grpc-js-transport.js')).grpcJsTransport(pipeline, health, opts)
    : serveMethods(opts.transport ?? 'h2', envoyMethods(pipeline, health), opts);
  return { server, health };
}
