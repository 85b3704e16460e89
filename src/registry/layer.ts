/**
 * Composition of the agent registry, heartbeats and kill switch over the directory the pipeline
 * reads. With a store everything is durable; without one only heartbeats (in memory) and the
 * kill-switch status (nothing can be blocked without a store) work, and the API answers the
 * rest 501 store_not_configured.
 */
import type { Registry } from 'prom-client';
import type { Store } from '../approvals/store/store.js';
import type { EventPublisher } from '../events/publisher.js';
import type { Clock, Logger, Timers } from '../shared/runtime.js';
import type { AgentDirectory } from './directory.js';
import { HeartbeatTracker } from './heartbeats.js';
import { KillSwitchService } from './kill-switch.js';
import { registerAgentMetrics } from './metrics.js';
import { AgentRegistryService } from './registry-service.js';
import { DirectorySync } from './sync.js';

export interface AgentsLayerDeps {
  readonly directory: AgentDirectory;
  /** Whether the config's `agents:` declares an id (its entry wins over a registration). */
  readonly declaredByConfig: (agentId: string) => boolean;
  readonly store: Store | undefined;
  readonly events: Pick<EventPublisher, 'entries' | 'enqueued'> | undefined;
  readonly registry: Registry;
  readonly now: Clock;
  readonly timers: Timers;
  readonly log: Logger;
  /** Replicas on a shared store: a change of agents or blocks there is reloaded at once, not at the next poll. */
  readonly fleet?: { subscribe(fn: (e: { kind: string }) => void): () => void } | undefined;
}

export interface AgentsLayer {
  readonly directory: AgentDirectory;
  readonly declaredByConfig: (agentId: string) => boolean;
  readonly heartbeats: HeartbeatTracker;
  /** Undefined without a store. */
  readonly registry: AgentRegistryService | undefined;
  readonly killSwitch: KillSwitchService | undefined;
  /** Load agents and blocks from the store (before serving), then follow other processes' changes. */
  start(): Promise<void>;
  /** Stop following and write the last heartbeats (before the store closes). */
  stop(): Promise<void>;
}

export function createAgentsLayer(d: AgentsLayerDeps): AgentsLayer {
  const metrics = registerAgentMetrics(d.registry, d.directory);
  const { store, events, directory, now, timers, log } = d;
  const heartbeats = new HeartbeatTracker({ store, now, timers, log, onBeat: () => metrics.heartbeat() });
  const sync = store && new DirectorySync({ store, directory, timers, log });
  let unsubscribe: (() => void) | undefined;
  return {
    directory, declaredByConfig: d.declaredByConfig, heartbeats,
    registry: store && new AgentRegistryService({ store, directory, heartbeats, now }),
    killSwitch: store && events && new KillSwitchService({ store, directory, events, now }),
    async start() {
      await sync?.start();
      if (sync && d.fleet) unsubscribe = d.fleet.subscribe((e) => { if (e.kind === 'agents') sync.nudge(); });
    },
    async stop() {
      unsubscribe?.();
      await sync?.stop();
      await heartbeats.flush();
    },
  };
}
