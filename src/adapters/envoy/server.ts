/**
 * The ext_authz v3 gRPC server. Check uses our own decoder and encoder in place of
 * proto-loader's (same protos, same wire format), so the hot path builds only what a
 * decision needs and a cache hit answers synchronously in the handler.
 */
import * as grpc from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { CheckPipeline } from '../../pipeline/check.js';
import type { CheckResult } from '../../pipeline/result.js';
import { settle } from '../../pipeline/settle.js';
import { RequestError } from '../../core/errors.js';
import { decodeCheckRequest, isDecodeFailure, type DecodeFailure, type EnvoyCheck } from './decode-check-request.js';
import { fromCheckRequest } from './from-check-request.js';
import { HealthService } from './health.js';
import { loadServices } from './protos.js';
import { encodeCheckResponse } from './to-check-response.js';
import type { RuntimeState } from '../../pipeline/state.js';

export interface EnvoyServerOptions {
  maxReceiveBytes: number;
}

function authorizationService(base: ServiceDefinition): ServiceDefinition {
  const check = base.Check;
  if (!check) throw new Error('Authorization service has no Check method');
  return {
    Check: {
      ...check,
      requestDeserialize: (buf: Buffer) => decodeCheckRequest(buf),
      responseSerialize: (r: CheckResult) => encodeCheckResponse(r),
    },
  };
}

export function createEnvoyServer(pipeline: CheckPipeline, state: RuntimeState, opts: EnvoyServerOptions) {
  const services = loadServices();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxReceiveBytes,
    // Envoy keeps long-lived HTTP/2 connections to its ext_authz cluster.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  });
  const health = new HealthService(state);
  server.addService(authorizationService(services.authorization), {
    Check: (call: grpc.ServerUnaryCall<EnvoyCheck | DecodeFailure, CheckResult>, cb: grpc.sendUnaryData<CheckResult>) => {
      const req = call.request;
      const d = call.getDeadline();
      const deadline = d === Infinity ? undefined : +d;
      // Envoy has already given up on a call whose deadline passed while it queued here.
      let result;
      if (isDecodeFailure(req)) result = pipeline.reject('envoy', new RequestError('invalid_request', req.decodeError));
      else if (deadline !== undefined && deadline <= Date.now()) result = pipeline.fail('envoy', 'deadline_exceeded');
      else {
        const raw = fromCheckRequest(req);
        if (deadline !== undefined) raw.deadline = deadline;
        result = pipeline.check(raw);
      }
      // Always a CheckResponse, never a gRPC error (Envoy would apply its own failure_mode_allow).
      settle(result, (r) => cb(null, r), () => pipeline.fail('envoy', 'evaluation_error'));
    },
  });
  server.addService(services.health, health.handlers);
  return { server, health };
}

export function bindGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
}
