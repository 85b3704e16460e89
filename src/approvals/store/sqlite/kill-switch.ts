/**
 * The kill switch and the agents' command queues in SQLite. A block or a lift, its command, its
 * audit row and its webhook deliveries commit in one transaction (transactional outbox), and
 * only if the state changes: two admins blocking at once leave one block and one command.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { AgentBlockRecord, AgentCommandRecord } from '../agent-records.js';
import type { KillSwitchEffects, KillSwitchResult } from '../agent-store.js';
import type { AuditSql } from './audit.js';
import type { OutboxSql } from './outbox.js';
import { commandToRow, rowToBlock, rowToCommand } from '../agent-codec.js';

type Row = Record<string, unknown>;

function statements(db: Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    getBlock: p('SELECT * FROM agent_blocks WHERE agent_id = ?'),
    block: p(`INSERT INTO agent_blocks (agent_id, reason, activated_at, activated_by, command_id)
      VALUES (:agent_id, :reason, :activated_at, :activated_by, :command_id) ON CONFLICT (agent_id) DO NOTHING`),
    unblock: p('DELETE FROM agent_blocks WHERE agent_id = ?'),
    command: p(`INSERT INTO agent_commands (command_id, agent_id, command_type, target_type, reason, parameters, status,
      issued_by, issued_via, created_at, expires_at, acknowledged_at, is_broadcast) VALUES (:command_id, :agent_id,
      :command_type, :target_type, :reason, :parameters, :status, :issued_by, :issued_via, :created_at, :expires_at,
      :acknowledged_at, :is_broadcast)`),
    pending: p(`SELECT * FROM agent_commands WHERE agent_id = ? AND status = 'pending'
      AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at, command_id LIMIT ?`),
    ack: p(`UPDATE agent_commands SET status = 'acknowledged', acknowledged_at = ?
      WHERE command_id = ? AND agent_id = ? AND status = 'pending'`),
    getCommand: p('SELECT * FROM agent_commands WHERE command_id = ? AND agent_id = ?'),
  };
}

export interface KillSwitchSqlDeps {
  readonly outbox: OutboxSql;
  readonly audit: AuditSql;
  /** Bumps the agent-state revision (joins the transaction). */
  readonly bump: () => void;
}

export class KillSwitchSql {
  private readonly s: ReturnType<typeof statements>;

  constructor(private readonly db: Database, private readonly deps: KillSwitchSqlDeps) {
    this.s = statements(db);
  }

  block(block: AgentBlockRecord, effects: KillSwitchEffects): KillSwitchResult {
    return this.db.transaction(() => {
      const changed = this.s.block.run(block).changes === 1;
      if (changed) this.write(effects);
      return { changed, block: this.getBlock(block.agent_id) };
    }).immediate();
  }

  unblock(agentId: string, effects: KillSwitchEffects): KillSwitchResult {
    return this.db.transaction(() => {
      const changed = this.s.unblock.run(agentId).changes === 1;
      if (changed) this.write(effects);
      return { changed, block: undefined };
    }).immediate();
  }

  pendingCommands(agentId: string, now: number, limit: number): AgentCommandRecord[] {
    return (this.s.pending.all(agentId, now, limit) as Row[]).map(rowToCommand);
  }

  acknowledge(agentId: string, commandId: string, now: number): AgentCommandRecord | undefined {
    this.s.ack.run(now, commandId, agentId);
    const r = this.s.getCommand.get(commandId, agentId) as Row | undefined;
    return r && rowToCommand(r);
  }

  private getBlock(agentId: string): AgentBlockRecord | undefined {
    const r = this.s.getBlock.get(agentId) as Row | undefined;
    return r && rowToBlock(r);
  }

  private write(effects: KillSwitchEffects): void {
    this.s.command.run(commandToRow(effects.command));
    this.deps.audit.append([effects.audit]);
    this.deps.outbox.enqueue(effects.outbox);
    this.deps.bump();
  }
}
