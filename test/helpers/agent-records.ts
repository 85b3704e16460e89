/** Record builders for the agent tables: valid defaults, override what the test is about. */
import type {
  AgentBlockRecord, AgentCommandRecord, AgentRecord, HeartbeatRecord,
} from '../../src/approvals/store/agent-records.js';
import type { KillSwitchEffects } from '../../src/approvals/store/agent-store.js';
import { auditRow, outboxEntry } from './records.js';

const T = 1_700_000_000_000;
let seq = 0;

export function agentRecord(over: Partial<AgentRecord> = {}): AgentRecord {
  return {
    agent_id: 'sdk-agent', display_name: 'SDK agent', agent_type: 'supervised', environment: 'production',
    capabilities: ['payments'], allowed_resources: ['refund/*'], sdk_version: '2.3.0', metadata: { team: 'billing' },
    model_id: null, trust_level: 'self', registered_by: 'billing', updated_by: 'billing', created_at: T, updated_at: T, ...over,
  };
}

export function heartbeatRecord(over: Partial<HeartbeatRecord> = {}): HeartbeatRecord {
  return { agent_id: 'sdk-agent', last_heartbeat: T, session_started_at: T, sdk_version: '2.3.0', metrics: { requests_count: 3 }, ...over };
}

export function blockRecord(over: Partial<AgentBlockRecord> = {}): AgentBlockRecord {
  return { agent_id: 'sdk-agent', reason: 'exfiltration', activated_at: T, activated_by: 'ops', command_id: `cmd_${++seq}`, ...over };
}

export function commandRecord(over: Partial<AgentCommandRecord> = {}): AgentCommandRecord {
  return {
    command_id: `cmd_${++seq}`, agent_id: 'sdk-agent', command_type: 'BLOCK', target_type: 'agent', reason: 'exfiltration',
    parameters: { agent_id: 'sdk-agent' }, status: 'pending', issued_by: 'ops', issued_via: 'api', created_at: T,
    expires_at: T + 86_400_000, acknowledged_at: null, is_broadcast: false, ...over,
  };
}

/** The command, audit row and one webhook delivery of a kill-switch change. */
export function killSwitchEffects(command: AgentCommandRecord): KillSwitchEffects {
  const event = command.command_type === 'BLOCK' ? 'agent.blocked' : 'agent.unblocked';
  return {
    command,
    audit: auditRow({
      ts: command.created_at, event_type: event, actor: command.issued_by, action_id: command.command_id, agent_id: command.agent_id,
      decision: command.command_type === 'BLOCK' ? 'denied' : 'allowed', details: { command_id: command.command_id },
    }),
    outbox: [outboxEntry({ event, created_at: command.created_at })],
  };
}
