/**
 * The kill switch: an admin blocks an agent, and every path denies it (pipeline/check.ts reads
 * the directory) until the block is lifted. Each change queues a BLOCK or UNBLOCK command for
 * the agent's SDK and emits agent.blocked / agent.unblocked to the audit trail and the
 * webhooks, all in the store transaction that makes the change; the directory is updated right
 * after it commits, so the next check in this process already sees it.
 */
import { randomUUID } from 'node:crypto';
import type { AgentBlockRecord, AgentCommandRecord, CommandType } from '../approvals/store/agent-records.js';
import type { AgentStore, KillSwitchEffects } from '../approvals/store/agent-store.js';
import type { AuditRecord } from '../approvals/store/records.js';
import type { EventPublisher } from '../events/publisher.js';
import type { Clock } from '../shared/runtime.js';
import type { AgentDirectory } from './directory.js';

/** Commands not acknowledged within a day drop out of the queue (the block itself stays). */
export const COMMAND_TTL_MS = 86_400_000;
/** Most commands one GET …/commands returns, oldest first. */
export const COMMANDS_PAGE = 100;

export interface KillSwitchDeps {
  readonly store: AgentStore;
  readonly directory: AgentDirectory;
  readonly events: Pick<EventPublisher, 'entries' | 'enqueued'>;
  readonly now: Clock;
  readonly newId?: () => string;
}

export interface KillSwitchChange {
  readonly agent_id: string;
  /** Why (required to block; optional to lift). */
  readonly reason: string | null;
  /** The admin key's name. */
  readonly actor: string;
}

export interface KillSwitchOutcome {
  readonly changed: boolean;
  readonly block: AgentBlockRecord | undefined;
  /** The command queued by this change; undefined when nothing changed. */
  readonly command: AgentCommandRecord | undefined;
}

export class KillSwitchService {
  private readonly newId: () => string;

  constructor(private readonly deps: KillSwitchDeps) {
    this.newId = deps.newId ?? (() => `cmd_${randomUUID()}`);
  }

  async block(c: KillSwitchChange & { readonly reason: string }): Promise<KillSwitchOutcome> {
    const effects = this.effects('BLOCK', c);
    const block: AgentBlockRecord = {
      agent_id: c.agent_id, reason: c.reason, activated_at: effects.command.created_at, activated_by: c.actor, command_id: effects.command.command_id,
    };
    const r = await this.deps.store.blockAgent(block, effects);
    if (r.block) this.deps.directory.block(r.block);
    return this.outcome(r.changed, r.block, effects);
  }

  async unblock(c: KillSwitchChange): Promise<KillSwitchOutcome> {
    const before = this.deps.directory.blocked.get(c.agent_id);
    const effects = this.effects('UNBLOCK', c, before);
    const r = await this.deps.store.unblockAgent(c.agent_id, effects);
    this.deps.directory.unblock(c.agent_id);
    return this.outcome(r.changed, undefined, effects);
  }

  /** This process's view: what every check here enforces. */
  status(agentId: string): AgentBlockRecord | undefined {
    return this.deps.directory.blocked.get(agentId);
  }

  commands(agentId: string): Promise<AgentCommandRecord[]> {
    return this.deps.store.listPendingCommands(agentId, this.deps.now(), COMMANDS_PAGE);
  }

  acknowledge(agentId: string, commandId: string): Promise<AgentCommandRecord | undefined> {
    return this.deps.store.acknowledgeCommand(agentId, commandId, this.deps.now());
  }

  private outcome(changed: boolean, block: AgentBlockRecord | undefined, effects: KillSwitchEffects): KillSwitchOutcome {
    if (changed && effects.outbox.length) this.deps.events.enqueued();
    return { changed, block, command: changed ? effects.command : undefined };
  }

  private effects(type: CommandType, c: KillSwitchChange, before?: AgentBlockRecord): KillSwitchEffects {
    const now = this.deps.now();
    const command: AgentCommandRecord = {
      command_id: this.newId(), agent_id: c.agent_id, command_type: type, target_type: 'agent', reason: c.reason,
      parameters: { agent_id: c.agent_id }, status: 'pending', issued_by: c.actor, issued_via: 'api', created_at: now,
      expires_at: now + COMMAND_TTL_MS, acknowledged_at: null, is_broadcast: false,
    };
    const blocking = type === 'BLOCK';
    const event = blocking ? 'agent.blocked' : 'agent.unblocked';
    const at = new Date(now).toISOString();
    const data = blocking
      ? { agent_id: c.agent_id, reason: c.reason, activated_at: at, activated_by: c.actor, command_id: command.command_id }
      : {
        agent_id: c.agent_id, reason: c.reason, lifted_at: at, lifted_by: c.actor, command_id: command.command_id,
        blocked_since: before ? new Date(before.activated_at).toISOString() : null,
      };
    return { command, audit: auditEvent(event, command, data), outbox: this.deps.events.entries(event, data) };
  }
}

/** The audit row of a kill-switch change; the decision columns say what it means for the agent. */
function auditEvent(event: 'agent.blocked' | 'agent.unblocked', cmd: AgentCommandRecord, details: Record<string, unknown>): AuditRecord {
  return {
    event_type: event, ts: cmd.created_at, action_id: cmd.command_id, request_id: null, adapter: 'api', agent_id: cmd.agent_id,
    action_type: 'agent.kill_switch', resource: `agent/${cmd.agent_id}`, decision: event === 'agent.blocked' ? 'denied' : 'allowed',
    policy_id: null, risk_score: null, cache_hit: false, latency_us: 0, reason: cmd.reason, actor: cmd.issued_by, details,
  };
}
