/**
 * The grpc-js transport (`server.grpc_transport: grpc-js`): @grpc/grpc-js with proto-loader's
 * service definitions, our decoder and encoder plugged in as the Check (de)serializers. Kept as
 * the reference implementation the other transports are tested against, and as a fallback.
 * grpc-js does not bound how many connections it holds, so the listening socket is ours
 * (node:net, with the same connection caps as the other transports) and each accepted
 * connection is handed to grpc-js through its connection injector.
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { CheckPipeline } from '../../pipeline/check.js';
import type { CheckResult } from '../../pipeline/result.js';
import { limitConnections } from '../../listeners/connection-gate.js';
import type { Pem, TlsCredentials } from '../../listeners/tls.js';
import { settle } from '../../pipeline/settle.js';
import { decodeCheckRequest, type DecodeFailure, type EnvoyCheck } from './decode-check-request.js';
import type { HealthService, ServingStatus } from '../../grpc/health.js';
import type { GrpcServerOptions, GrpcTransport } from '../../grpc/transport.js';
import { answerCheck } from './answer-check.js';
import { loadServices } from './protos.js';
import { encodeCheckResponse } from './to-check-response.js';

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

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/**
 * grpc-js ServerCredentials that follow the files: a certificate provider fed by our
 * TlsCredentials, so grpc-js calls setSecureContext on its own secure server when they change.
 */
function credentialsOf(tls: TlsCredentials): grpc.ServerCredentials {
  const ca = new Set<CaListener>();
  const identity = new Set<IdentityListener>();
  const caUpdate = (pem: Pem) => (pem.ca === undefined ? null : { caCertificate: pem.ca });
  const identityUpdate = (pem: Pem) => ({ certificate: pem.cert, privateKey: pem.key });
  tls.onChange((pem) => {
    for (const l of ca) l(caUpdate(pem));
    for (const l of identity) l(identityUpdate(pem));
  });
  // The first update is sent after the listener is added, not inside the call: grpc-js adds its
  // own watcher only after adding these listeners, and would miss an update sent at once.
  const provider: grpc.experimental.CertificateProvider = {
    addCaCertificateListener(l) {
      ca.add(l);
      queueMicrotask(() => l(caUpdate(tls.pem)));
    },
    removeCaCertificateListener: (l) => ca.delete(l),
    addIdentityCertificateListener(l) {
      identity.add(l);
      queueMicrotask(() => l(identityUpdate(tls.pem)));
    },
    removeIdentityCertificateListener: (l) => identity.delete(l),
  };
  // grpc-js's first parameter is used as the identity provider, the second as the CA provider
  // (their names in the exported function are the other way round); no CA: no client certificates asked.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, tls.pem.ca === undefined ? null : provider, tls.settings.require_client_cert);
}

export function grpcJsTransport(pipeline: CheckPipeline, health: HealthService, opts: GrpcServerOptions): GrpcTransport {
  const services = loadServices();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxReceiveBytes,
    // Envoy keeps long-lived HTTP/2 connections to its ext_authz cluster.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  });
  server.addService(authorizationService(services.authorization), {
    Check: (call: grpc.ServerUnaryCall<EnvoyCheck | DecodeFailure, CheckResult>, cb: grpc.sendUnaryData<CheckResult>) => {
      const d = call.getDeadline();
      const r = answerCheck(pipeline, call.request, d === Infinity ? undefined : +d);
      settle(r, (res) => cb(null, res), () => pipeline.fail('envoy', 'evaluation_error'));
    },
  });
  server.addService(services.health, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const status = health.check(call.request.service);
      if (status === undefined) cb({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
      else cb(null, { status });
    },
    Watch: (call: grpc.ServerWritableStream<{ service: string }, { status: ServingStatus }>) => {
      const unwatch = health.watch({ service: call.request.service, send: (status) => call.write({ status }), end: () => call.end() });
      call.on('cancelled', unwatch);
    },
  });
  const injector = server.createConnectionInjector(opts.tls === undefined ? grpc.ServerCredentials.createInsecure() : credentialsOf(opts.tls));
  const tcp = net.createServer((socket) => injector.injectConnection(socket));
  // grpc-js has no timeout for a client that never sends its preface.
  if (opts.connections) limitConnections(tcp, { ...opts.connections, firstByteTimeoutMs: opts.requestTimeoutMs });
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, host, () => {
          tcp.off('error', reject);
          const addr = tcp.address();
          resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
        });
      }),
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        tcp.close();
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
