/**
 * Registry metrics on an injected registry: `ascend_agents_registered` and
 * `ascend_agents_blocked` (this process's directory, read at scrape time) and
 * `ascend_agent_heartbeats_total`. No agent id is ever a label.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentDirectory } from './directory.js';

export interface AgentMetrics {
  heartbeat(): void;
}

export function registerAgentMetrics(registry: Registry, directory: AgentDirectory): AgentMetrics {
  const gauge = (name: string, help: string, read: () => number) => new Gauge({
    name, help, registers: [registry],
    // Every process loads the same store: under `serve --workers` any one worker's value is the sidecar's.
    aggregator: 'max',
    collect() { this.set(read()); },
  });
  gauge('ascend_agents_registered', 'Agents registered through the API (config agents not included).', () => directory.registered.size);
  gauge('ascend_agents_blocked', 'Agents the kill switch blocks: every path denies them (agent_blocked).', () => directory.blocked.size);
  const beats = new Counter({ name: 'ascend_agent_heartbeats_total', help: 'Agent heartbeats received.', registers: [registry] });
  return { heartbeat: () => beats.inc() };
}
