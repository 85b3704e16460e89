/** Loads the project's hand-written protos (protos/) with @grpc/proto-loader. */
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';

/** protos/ at the package root; the same relative path from src/ and from dist/. */
export const PROTO_DIR = fileURLToPath(new URL('../../../protos/', import.meta.url));

export const AUTHZ_PROTO = 'envoy/service/auth/v3/external_auth.proto';
export const HEALTH_PROTO = 'grpc/health/v1/health.proto';

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export interface LoadedServices {
  authorization: ServiceDefinition;
  health: ServiceDefinition;
  packageDefinition: protoLoader.PackageDefinition;
}

export function loadServices(): LoadedServices {
  const pkg = protoLoader.loadSync([AUTHZ_PROTO, HEALTH_PROTO], LOADER_OPTIONS);
  return {
    authorization: pkg['envoy.service.auth.v3.Authorization'] as unknown as ServiceDefinition,
    health: pkg['grpc.health.v1.Health'] as unknown as ServiceDefinition,
    packageDefinition: pkg,
  };
}
