/** Row ↔ record mapping for the agent tables: JSON columns, 0/1 booleans, NULLs. */
import type {
  AgentBlockRecord, AgentCommandRecord, AgentRecord, HeartbeatRecord,
} from './agent-records.js';
import { json, num, optNum, optStr, str, type Row } from './codec.js';

export function agentToRow(a: AgentRecord): Row {
  return {
    ...a, capabilities: JSON.stringify(a.capabilities), allowed_resources: JSON.stringify(a.allowed_resources),
    metadata: JSON.stringify(a.metadata),
  };
}

export function rowToAgent(r: Row): AgentRecord {
  return {
    agent_id: str(r.agent_id), display_name: optStr(r.display_name), agent_type: str(r.agent_type) as AgentRecord['agent_type'],
    environment: optStr(r.environment), capabilities: json(r.capabilities), allowed_resources: json(r.allowed_resources),
    sdk_version: optStr(r.sdk_version), metadata: json(r.metadata), model_id: optNum(r.model_id),
    trust_level: str(r.trust_level) as AgentRecord['trust_level'], registered_by: str(r.registered_by),
    updated_by: str(r.updated_by), created_at: num(r.created_at), updated_at: num(r.updated_at),
  };
}

export function heartbeatToRow(h: HeartbeatRecord): Row {
  return { ...h, metrics: JSON.stringify(h.metrics) };
}

export function rowToHeartbeat(r: Row): HeartbeatRecord {
  return {
    agent_id: str(r.agent_id), last_heartbeat: num(r.last_heartbeat), session_started_at: num(r.session_started_at),
    sdk_version: optStr(r.sdk_version), metrics: json(r.metrics),
  };
}

export function rowToBlock(r: Row): AgentBlockRecord {
  return {
    agent_id: str(r.agent_id), reason: str(r.reason), activated_at: num(r.activated_at),
    activated_by: str(r.activated_by), command_id: str(r.command_id),
  };
}

export function commandToRow(c: AgentCommandRecord): Row {
  return { ...c, parameters: JSON.stringify(c.parameters), is_broadcast: c.is_broadcast ? 1 : 0 };
}

export function rowToCommand(r: Row): AgentCommandRecord {
  return {
    command_id: str(r.command_id), agent_id: str(r.agent_id), command_type: str(r.command_type) as AgentCommandRecord['command_type'],
    target_type: 'agent', reason: optStr(r.reason), parameters: json(r.parameters),
    status: str(r.status) as AgentCommandRecord['status'], issued_by: str(r.issued_by), issued_via: 'api',
    created_at: num(r.created_at), expires_at: optNum(r.expires_at), acknowledged_at: optNum(r.acknowledged_at),
    is_broadcast: r.is_broadcast === 1,
  };
}
