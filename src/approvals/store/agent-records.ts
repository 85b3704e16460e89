/**
 * Records of the agent registry, heartbeats and kill switch (issue 15). Like records.ts: plain
 * JSON-able objects (structured-clone safe), times in ms since the epoch, ids as opaque strings.
 */

/** What the ASCEND SDK's register() may send as agent_type. */
export const REGISTERED_AGENT_TYPES = ['supervised', 'autonomous', 'mcp_server'] as const;
export type RegisteredAgentType = (typeof REGISTERED_AGENT_TYPES)[number];

/**
 * Who vouches for an agent's type and capabilities: `admin` (an admin key wrote them; the
 * agent's own key can no longer change them) or `self` (the agent's own key declared them).
 * A config `agents:` entry with the same id outranks both (the view says `config`).
 */
export type TrustLevel = 'admin' | 'self';

/** An agent registered through the API (POST /api/registry/agents). */
export interface AgentRecord {
  readonly agent_id: string;
  readonly display_name: string | null;
  readonly agent_type: RegisteredAgentType;
  readonly environment: string | null;
  readonly capabilities: readonly string[];
  readonly allowed_resources: readonly string[];
  readonly sdk_version: string | null;
  readonly metadata: Record<string, unknown>;
  /** Set by the SDK's link_model_to_agent (PUT {model_id}). */
  readonly model_id: number | null;
  readonly trust_level: TrustLevel;
  /** API key names: who created the record, and who changed it last. */
  readonly registered_by: string;
  readonly updated_by: string;
  readonly created_at: number;
  readonly updated_at: number;
}

/** The last heartbeat of an agent, as persisted (write-behind, see registry/heartbeats.ts). */
export interface HeartbeatRecord {
  readonly agent_id: string;
  readonly last_heartbeat: number;
  /** First heartbeat of the current run: uptime counts from here. */
  readonly session_started_at: number;
  readonly sdk_version: string | null;
  /** What the last heartbeat reported (response_time_ms, error_rate, requests_count, client_timestamp). */
  readonly metrics: Record<string, unknown>;
}

/** An agent blocked by the kill switch; every path denies it until the block is lifted. */
export interface AgentBlockRecord {
  readonly agent_id: string;
  readonly reason: string;
  readonly activated_at: number;
  /** API key name. */
  readonly activated_by: string;
  /** The BLOCK command queued for the agent's SDK. */
  readonly command_id: string;
}

export type CommandType = 'BLOCK' | 'UNBLOCK';
export type CommandStatus = 'pending' | 'acknowledged';

/** A command queued for one agent's SDK (GET …/commands, POST …/commands/{id}/ack). */
export interface AgentCommandRecord {
  readonly command_id: string;
  readonly agent_id: string;
  readonly command_type: CommandType;
  readonly target_type: 'agent';
  readonly reason: string | null;
  readonly parameters: Record<string, unknown>;
  readonly status: CommandStatus;
  readonly issued_by: string;
  readonly issued_via: 'api';
  readonly created_at: number;
  readonly expires_at: number | null;
  readonly acknowledged_at: number | null;
  readonly is_broadcast: boolean;
}

/** Everything the in-memory directory needs, read in one snapshot. */
export interface AgentState {
  /** The revision the snapshot was read at (see AgentStore.agentStateRevision). */
  readonly revision: number;
  readonly agents: AgentRecord[];
  readonly blocks: AgentBlockRecord[];
}
