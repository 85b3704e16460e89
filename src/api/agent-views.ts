/** Agent records → the API's JSON (times as ISO 8601), shaped for what the ASCEND SDK reads. */
import type { AgentBlockRecord, AgentCommandRecord, AgentRecord, HeartbeatRecord } from '../approvals/store/agent-records.js';
import { HEALTHY_WITHIN_MS, OFFLINE_AFTER_MS, healthState, uptimeSeconds } from '../registry/health-status.js';
import type { AgentsLayer } from '../registry/layer.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function agentView(a: AgentRecord, agents: Pick<AgentsLayer, 'directory' | 'declaredByConfig'>): Record<string, unknown> {
  return {
    agent_id: a.agent_id, display_name: a.display_name, agent_type: a.agent_type, environment: a.environment,
    capabilities: a.capabilities, allowed_resources: a.allowed_resources, sdk_version: a.sdk_version, metadata: a.metadata,
    model_id: a.model_id, trust_level: agents.declaredByConfig(a.agent_id) ? 'config' : a.trust_level,
    status: agents.directory.blocked.has(a.agent_id) ? 'blocked' : 'active',
    registered_by: a.registered_by, updated_by: a.updated_by, created_at: iso(a.created_at), updated_at: iso(a.updated_at),
  };
}

export function healthView(agentId: string, hb: HeartbeatRecord | undefined, now: number): Record<string, unknown> {
  return {
    agent_id: agentId, status: healthState(now, hb), last_heartbeat: iso(hb?.last_heartbeat ?? null), uptime_seconds: uptimeSeconds(now, hb),
    metadata: {
      ...(hb ? { sdk_version: hb.sdk_version, session_started_at: iso(hb.session_started_at), ...hb.metrics } : {}),
      healthy_within_seconds: HEALTHY_WITHIN_MS / 1000, offline_after_seconds: OFFLINE_AFTER_MS / 1000,
    },
  };
}

export function killSwitchView(agentId: string, b: AgentBlockRecord | undefined): Record<string, unknown> {
  return {
    agent_id: agentId, active: b !== undefined, is_active: b !== undefined, reason: b?.reason ?? null,
    activated_at: iso(b?.activated_at ?? null), activated_by: b?.activated_by ?? null,
  };
}

export function commandView(c: AgentCommandRecord): Record<string, unknown> {
  return { ...c, created_at: iso(c.created_at), expires_at: iso(c.expires_at), acknowledged_at: iso(c.acknowledged_at) };
}
