/**
 * Heartbeats (POST /api/agents/health/heartbeat) in memory, persisted write-behind: a heartbeat
 * only marks its agent dirty, and the dirty agents are written in one transaction at most every
 * 30 s (and at shutdown). So an agent heartbeating every 60 s costs one row write per beat,
 * batched with every other agent's, and never a store round trip on the request; what the store
 * holds lags by at most 30 s — well inside the 120 s of "healthy" — for a restart or another
 * process reading it. Without a store it works in memory alone.
 */
import type { HeartbeatRecord } from '../approvals/store/agent-records.js';
import type { AgentStore } from '../approvals/store/agent-store.js';
import { silentLogger, type Clock, type Logger, type Timers } from '../shared/runtime.js';
import { newest, sessionStart } from './health-status.js';

export const HEARTBEAT_FLUSH_MS = 30_000;

/** What a heartbeat reports (the SDK's body, agent resolved). */
export interface Heartbeat {
  readonly agent_id: string;
  readonly sdk_version?: string | null;
  readonly timestamp?: string | null;
  readonly response_time_ms?: number;
  readonly error_rate?: number;
  readonly requests_count?: number;
}

export interface HeartbeatDeps {
  readonly store: Pick<AgentStore, 'putHeartbeats' | 'getHeartbeat'> | undefined;
  readonly now: Clock;
  readonly timers: Timers;
  readonly log?: Logger;
  readonly onBeat?: () => void;
}

export class HeartbeatTracker {
  private readonly latest = new Map<string, HeartbeatRecord>();
  private readonly dirty = new Set<string>();
  private timer: unknown;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: HeartbeatDeps) {}

  /** Records a heartbeat; returns the agent's record after it. */
  async beat(h: Heartbeat): Promise<HeartbeatRecord> {
    const now = this.deps.now();
    const prior = this.latest.get(h.agent_id) ?? (await this.deps.store?.getHeartbeat(h.agent_id));
    const metrics: Record<string, unknown> = {};
    for (const k of ['response_time_ms', 'error_rate', 'requests_count'] as const) if (h[k] !== undefined) metrics[k] = h[k];
    if (h.timestamp) metrics.client_timestamp = h.timestamp;
    const rec: HeartbeatRecord = {
      agent_id: h.agent_id, last_heartbeat: now, session_started_at: sessionStart(now, prior), sdk_version: h.sdk_version ?? null, metrics,
    };
    this.latest.set(h.agent_id, rec);
    this.deps.onBeat?.();
    if (this.deps.store) {
      this.dirty.add(h.agent_id);
      this.timer ??= this.deps.timers.setTimeout(() => void this.flush(), HEARTBEAT_FLUSH_MS);
    }
    return rec;
  }

  /** The newest heartbeat known here or in the store (another process may have taken it). */
  async last(agentId: string): Promise<HeartbeatRecord | undefined> {
    return newest(this.latest.get(agentId), await this.deps.store?.getHeartbeat(agentId));
  }

  /** The agent was deregistered: its heartbeats go with it. */
  forget(agentId: string): void {
    this.latest.delete(agentId);
    this.dirty.delete(agentId);
  }

  /** Writes the dirty agents now; a failed write keeps them dirty for the next flush. */
  flush(): Promise<void> {
    this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    const store = this.deps.store;
    if (!store || this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    const rows = ids.map((id) => this.latest.get(id)).filter((r): r is HeartbeatRecord => r !== undefined);
    try {
      await store.putHeartbeats(rows);
    } catch (err) {
      for (const id of ids) if (this.latest.has(id)) this.dirty.add(id);
      (this.deps.log ?? silentLogger).error({ err, agents: ids.length }, 'heartbeat flush failed; will retry');
      this.timer ??= this.deps.timers.setTimeout(() => void this.flush(), HEARTBEAT_FLUSH_MS);
    }
  }
}
