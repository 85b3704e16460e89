/**
 * grpc.health.v1 (grpc/doc/health-checking.md): the status comes from a `serving()` callback the
 * application supplies, for the overall server ("") and the services it names. Envoy's cluster
 * health check (grpc_health_check) calls Check; Kubernetes' gRPC probe too. Transport-neutral:
 * each gRPC transport adapts Check and Watch to it.
 */
import protobuf from 'protobufjs/minimal.js';
import type { GrpcMethod } from './call.js';
import { frameMessage, GrpcError, Status } from './wire.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** A Watch stream, whatever the transport. */
export interface HealthWatcher {
  readonly service: string;
  send(status: ServingStatus): void;
  end(): void;
}

export class HealthService {
  private readonly watchers = new Set<HealthWatcher>();
  private readonly known: ReadonlySet<string>;
  private last: ServingStatus;

  /**
   * @param serving whether the server answers now (for the sidecar: a valid config is loaded and it is not draining)
   * @param services the service names answered besides "" (the server as a whole)
   */
  constructor(private readonly serving: () => boolean, services: readonly string[]) {
    this.known = new Set(['', ...services]);
    this.last = this.status();
  }

  private status(): ServingStatus {
    return this.serving() ? 'SERVING' : 'NOT_SERVING';
  }

  /** The status of a service; undefined for a service this server does not have (NOT_FOUND). */
  check(service: string): ServingStatus | undefined {
    return this.known.has(service) ? this.status() : undefined;
  }

  /** Sends the current status at once, then every change; returns the unsubscribe. */
  watch(w: HealthWatcher): () => void {
    w.send(this.known.has(w.service) ? this.status() : 'SERVICE_UNKNOWN');
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  /** Pushes a change to Watch streams; call after what `serving()` reports changes. */
  update(): void {
    const now = this.status();
    if (now === this.last) return;
    this.last = now;
    for (const w of this.watchers) if (this.known.has(w.service)) w.send(now);
  }

  endWatches(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }
}

/** HealthCheckResponse.ServingStatus numbers (protos/grpc/health/v1/health.proto). */
const STATUS_NUMBER: Record<ServingStatus, number> = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 };

/** HealthCheckRequest bytes → its `service` (field 1). Throws on malformed input. */
export function decodeHealthRequest(buf: Buffer): string {
  const r = protobuf.Reader.create(buf);
  let service = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 10) service = r.string();
    else r.skipType(tag & 7);
  }
  return service;
}

/** HealthCheckResponse{status}, serialized. */
export function encodeHealthResponse(status: ServingStatus): Buffer {
  return Buffer.from([0x08, STATUS_NUMBER[status]]);
}

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
export const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';

/** The health service's two methods, for a transport's method table. */
export function healthMethods(health: HealthService): Array<[string, GrpcMethod]> {
  const frame = (s: ServingStatus) => frameMessage(encodeHealthResponse(s));
  return [
    [HEALTH_CHECK_PATH, {
      kind: 'unary',
      handle(message) {
        const service = healthService(message);
        const status = health.check(service);
        if (status === undefined) throw new GrpcError(Status.NOT_FOUND, `unknown service "${service}"`);
        return frame(status);
      },
    }],
    [HEALTH_WATCH_PATH, {
      kind: 'stream',
      handle(message, call) {
        const unwatch = health.watch({ service: healthService(message), send: (s) => call.write(frame(s)), end: () => call.end() });
        call.onClose(unwatch);
      },
    }],
  ];
}

function healthService(message: Buffer): string {
  try {
    return decodeHealthRequest(message);
  } catch {
    throw new GrpcError(Status.INTERNAL, 'Failed to parse HealthCheckRequest');
  }
}
