/**
 * grpc.health.v1: SERVING only while a valid config is loaded and the sidecar is not
 * draining. Envoy's cluster health check (grpc_health_check) calls Check.
 */
import * as grpc from '@grpc/grpc-js';
import type { RuntimeState } from '../../pipeline/state.js';

export const AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';
const KNOWN = new Set(['', AUTHZ_SERVICE]);

type Status = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
type Watcher = grpc.ServerWritableStream<{ service: string }, { status: Status }>;

export class HealthService {
  private readonly watchers = new Set<Watcher>();
  private last: Status;

  constructor(private readonly state: RuntimeState) {
    this.last = this.status();
  }

  private status(): Status {
    return this.state.serving ? 'SERVING' : 'NOT_SERVING';
  }

  /** Pushes a change to Watch streams; call after `state.serving` changes. */
  update(): void {
    const now = this.status();
    if (now === this.last) return;
    this.last = now;
    for (const w of this.watchers) if (KNOWN.has(w.request.service)) w.write({ status: now });
  }

  endWatches(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }

  readonly handlers: grpc.UntypedServiceImplementation = {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (!KNOWN.has(call.request.service)) {
        cb({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        return;
      }
      cb(null, { status: this.status() });
    },
    Watch: (call: Watcher) => {
      call.write({ status: KNOWN.has(call.request.service) ? this.status() : 'SERVICE_UNKNOWN' });
      this.watchers.add(call);
      call.on('cancelled', () => this.watchers.delete(call));
    },
  };
}
