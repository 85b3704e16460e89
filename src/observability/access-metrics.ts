/**
 * Metrics of who was kept out before any check ran: calls to the gateway endpoints refused by
 * `gateway_access`, and connections closed at accept because a listener or a peer had too
 * many. Label values come from fixed sets; a peer address never becomes a label.
 */
import { Counter, type Registry } from 'prom-client';
import type { GatewayDenial } from '../gateway/access.js';
import type { AdapterName } from '../gateway/request.js';
import type { ConnectionRejection, ListenerName } from '../listeners/connection-gate.js';

const GATEWAY_ADAPTERS = ['kong', 'kong_opa', 'forward_auth'] as const satisfies readonly AdapterName[];
const DENIALS = ['peer_not_allowed', 'gateway_token_required'] as const satisfies readonly GatewayDenial[];
const REJECTIONS = ['max_connections', 'max_connections_per_peer'] as const satisfies readonly ConnectionRejection[];

export class AccessMetrics {
  private readonly denied: Counter<'adapter' | 'reason'>;
  private readonly rejected: Counter<'listener' | 'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
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

  /** Creates the listener's series at 0. */
  listener(name: ListenerName): (reason: ConnectionRejection) => void {
    for (const reason of REJECTIONS) this.rejected.labels(name, reason).inc(0);
    return (reason) => this.rejected.labels(name, reason).inc();
  }
}
