/**
 * grpc.health.v1: SERVING only while a valid config is loaded and the sidecar is not
 * draining. Envoy's cluster health check (grpc_health_check) calls Check; Kubernetes' gRPC
 * probe too. Transport-neutral: each gRPC transport adapts Check and Watch to it.
 */
import protobuf from 'protobufjs/minimal.js';
import type { RuntimeState } from '../../pipeline/state.js';

export const AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';
const KNOWN = new Set(['', AUTHZ_SERVICE]);

export type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** A Watch stream, whatever the transport. */
export interface HealthWatcher {
  readonly service: string;
  send(status: ServingStatus): void;
  end(): void;
}

export class HealthService {
  private readonly watchers = new Set<HealthWatcher>();
  private last: ServingStatus;

  constructor(private readonly state: RuntimeState) {
    this.last = this.status();
  }

  private status(): ServingStatus {
    return this.state.serving ? 'SERVING' : 'NOT_SERVING';
  }

  /** The status of a service; undefined for a service this server does not have (NOT_FOUND). */
  check(service: string): ServingStatus | undefined {
    return KNOWN.has(service) ? this.status() : undefined;
  }

  /** Sends the current status at once, then every change; returns the unsubscribe. */
  watch(w: HealthWatcher): () => void {
    w.send(KNOWN.has(w.service) ? this.status() : 'SERVICE_UNKNOWN');
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  /** Pushes a change to Watch streams; call after `state.serving` changes. */
  update(): void {
    const now = this.status();
    if (now === this.last) return;
    this.last = now;
    for (const w of this.watchers) if (KNOWN.has(w.service)) w.send(now);
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
