/**
 * Metrics of who was kept out before any check ran: calls to the gateway endpoints refused by
 * `gateway_access`, connections closed at accept because a listener or a peer had too many,
 * and what the h2 gRPC transport tolerated or stopped. Label values come from fixed sets; a
 * peer address never becomes a label.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { GatewayDenial } from '../gateway/access.js';
import type { AdapterName } from '../gateway/request.js';
import type { ConnectionRejection, ListenerName } from '../listeners/connection-gate.js';

const GATEWAY_ADAPTERS = ['kong', 'kong_opa', 'forward_auth'] as const satisfies readonly AdapterName[];
const DENIALS = ['peer_not_allowed', 'gateway_token_required'] as const satisfies readonly GatewayDenial[];
const REJECTIONS = ['max_connections', 'max_connections_per_peer'] as const satisfies readonly ConnectionRejection[];
/** The h2 transport's counters (grpc/h2/connection.ts H2Stats) and their `event` label. */
const GRPC_EVENTS = { idleStreamResets: 'idle_stream_reset', outputClosed: 'output_closed', controlFloods: 'control_flood' } as const;

export class AccessMetrics {
  private readonly denied: Counter<'adapter' | 'reason'>;
  private readonly rejected: Counter<'listener' | 'reason'>;

  private readonly registers: Registry[];

  constructor(registry: Registry) {
    const registers = [registry];
    this.registers = registers;
    this.denied = new Counter({
      name: 'ascend_gateway_access_denied_total', help: 'Calls to the gateway endpoints refused by gateway_access, before any evaluation', labelNames: ['adapter', 'reason'], registers,
    });
    this.rejected = new Counter({
      name: 'ascend_connections_rejected_total', help: 'Connections closed at accept: the listener (server.max_connections) or the peer (server.max_connections_per_peer) had too many', labelNames: ['listener', 'reason'], registers,
    });
    // Known series start at 0 so rate() sees the first refusal.
    for (const adapter of GATEWAY_ADAPTERS) for (const reason of DENIALS) this.denied.labels(adapter, reason).inc(0);
  }

  gatewayDenied(adapter: AdapterName, reason: GatewayDenial): void {
    this.denied.labels(adapter, reason).inc();
  }

  /** Exports the h2 transport's counters (read at each scrape) as ascend_grpc_connection_events_total{event}. */
  grpcEvents(read: () => Readonly<Record<keyof typeof GRPC_EVENTS, number>> | undefined): void {
    new Counter({
      name: 'ascend_grpc_connection_events_total',
      help: 'What gRPC clients did that the h2 transport tolerated (idle_stream_reset: RST_STREAM on a stream never opened, ignored) or stopped (output_closed: a connection closed for not reading its answers; control_flood: for too many PING and SETTINGS frames)',
      labelNames: ['event'], registers: this.registers,
      collect() {
        const stats = read();
        this.reset();
        for (const [key, event] of Object.entries(GRPC_EVENTS)) this.labels(event).inc(stats?.[key as keyof typeof GRPC_EVENTS] ?? 0);
      },
    });
  }

  /** Exports the h2 transport's unsent output (read at each scrape): now, and the most it has been. */
  grpcOutput(read: () => { unsent: number; unsentPeak: number } | undefined): void {
    new Gauge({
      name: 'ascend_grpc_unsent_output_bytes', help: 'Answers the h2 transport holds that their gRPC clients have not read yet, over all connections (bounded by server.grpc_output_budget_bytes)', registers: this.registers,
      collect() {
        this.set(read()?.unsent ?? 0);
      },
    });
    new Gauge({
      name: 'ascend_grpc_unsent_output_peak_bytes', help: 'The most unsent output the h2 transport has held at once since start', registers: this.registers,
      collect() {
        this.set(read()?.unsentPeak ?? 0);
      },
    });
  }

  /** Creates the listener's series at 0. */
  listener(name: ListenerName): (reason: ConnectionRejection) => void {
    for (const reason of REJECTIONS) this.rejected.labels(name, reason).inc(0);
    return (reason) => this.rejected.labels(name, reason).inc();
  }
}
