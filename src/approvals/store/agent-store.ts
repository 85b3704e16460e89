/**
 * The durable-state contract of the agent registry, heartbeats and kill switch, part of
 * {@link Store}. Plain async methods over structured-clone-safe records, so a worker-thread
 * proxy can forward them and a PostgreSQL store can implement them with simple SQL: merging a
 * registration, health thresholds and command contents are decided outside the store.
 *
 * Every change to agents or blocks bumps one revision number in the same transaction; each
 * process polls it (registry/sync.ts) to reload what another process changed.
 */
import type {
  AgentBlockRecord, AgentCommandRecord, AgentRecord, AgentState, HeartbeatRecord,
} from './agent-records.js';
import type { AuditRecord, NewOutboxEntry, Page, PageQuery } from './records.js';

/** What a kill-switch change leaves behind, written only if the change happens. */
export interface KillSwitchEffects {
  /** The BLOCK or UNBLOCK command for the agent's SDK. */
  readonly command: AgentCommandRecord;
  /** The agent.blocked / agent.unblocked row of the audit trail. */
  readonly audit: AuditRecord;
  /** The agent.blocked / agent.unblocked webhook deliveries. */
  readonly outbox: readonly NewOutboxEntry[];
}

export interface KillSwitchResult {
  /** false: the agent was already in the asked state, and nothing was written. */
  readonly changed: boolean;
  /** The block after the call (undefined: not blocked). */
  readonly block: AgentBlockRecord | undefined;
}

export interface AgentStore {
  getAgent(agentId: string): Promise<AgentRecord | undefined>;
  /** Insert or replace the whole record (the caller merged it with what getAgent read). */
  putAgent(agent: AgentRecord): Promise<void>;
  /** Removes the agent and its heartbeat; false if it was not registered. Blocks stay. */
  deleteAgent(agentId: string): Promise<boolean>;
  /** By agent_id, ascending. */
  listAgents(query: PageQuery): Promise<Page<AgentRecord>>;
  /** Every registered agent and every block, in one snapshot. */
  loadAgentState(): Promise<AgentState>;
  /** Bumped by every change to agents or blocks. */
  agentStateRevision(): Promise<number>;

  /** Upserts in one transaction; a row never replaces a newer last_heartbeat. */
  putHeartbeats(rows: readonly HeartbeatRecord[]): Promise<void>;
  getHeartbeat(agentId: string): Promise<HeartbeatRecord | undefined>;

  /** Atomically: if the agent is not blocked, block it and write the effects. */
  blockAgent(block: AgentBlockRecord, effects: KillSwitchEffects): Promise<KillSwitchResult>;
  /** Atomically: if the agent is blocked, lift the block and write the effects. */
  unblockAgent(agentId: string, effects: KillSwitchEffects): Promise<KillSwitchResult>;
  /** Pending commands not expired at `now`, oldest first, at most `limit`. */
  listPendingCommands(agentId: string, now: number, limit: number): Promise<AgentCommandRecord[]>;
  /** Marks the agent's command acknowledged (again: unchanged); undefined if the agent has no such command. */
  acknowledgeCommand(agentId: string, commandId: string, now: number): Promise<AgentCommandRecord | undefined>;
}
