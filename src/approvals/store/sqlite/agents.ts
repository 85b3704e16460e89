/**
 * The agent registry and heartbeats in SQLite, and the revision every change to agents or
 * blocks bumps (KillSwitchSql bumps it too, through `bump`).
 */
import type { Database, Statement } from 'better-sqlite3';
import { decodeCursor, encodeCursor } from '../errors.js';
import type { AgentRecord, AgentState, HeartbeatRecord } from '../agent-records.js';
import type { Page } from '../records.js';
import type { PageQuery } from '../store.js';
import { agentToRow, heartbeatToRow, rowToAgent, rowToBlock, rowToHeartbeat } from '../agent-codec.js';

type Row = Record<string, unknown>;

function statements(db: Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    get: p('SELECT * FROM agents WHERE agent_id = ?'),
    put: p(`INSERT OR REPLACE INTO agents (agent_id, display_name, agent_type, environment, capabilities,
      allowed_resources, sdk_version, metadata, model_id, trust_level, registered_by, updated_by, created_at, updated_at)
      VALUES (:agent_id, :display_name, :agent_type, :environment, :capabilities, :allowed_resources, :sdk_version,
      :metadata, :model_id, :trust_level, :registered_by, :updated_by, :created_at, :updated_at)`),
    delete: p('DELETE FROM agents WHERE agent_id = ?'),
    deleteHeartbeat: p('DELETE FROM agent_heartbeats WHERE agent_id = ?'),
    list: p('SELECT * FROM agents WHERE agent_id > ? ORDER BY agent_id LIMIT ?'),
    all: p('SELECT * FROM agents ORDER BY agent_id'),
    blocks: p('SELECT * FROM agent_blocks ORDER BY agent_id'),
    revision: p('SELECT revision FROM agent_state_revision WHERE id = 1'),
    bump: p('UPDATE agent_state_revision SET revision = revision + 1 WHERE id = 1'),
    // Two processes may flush the same agent: the newer heartbeat wins whichever writes last.
    heartbeat: p(`INSERT INTO agent_heartbeats (agent_id, last_heartbeat, session_started_at, sdk_version, metrics)
      VALUES (:agent_id, :last_heartbeat, :session_started_at, :sdk_version, :metrics)
      ON CONFLICT (agent_id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat,
        session_started_at = excluded.session_started_at, sdk_version = excluded.sdk_version, metrics = excluded.metrics
      WHERE excluded.last_heartbeat >= agent_heartbeats.last_heartbeat`),
    getHeartbeat: p('SELECT * FROM agent_heartbeats WHERE agent_id = ?'),
  };
}

export class AgentsSql {
  private readonly s: ReturnType<typeof statements>;

  constructor(private readonly db: Database) {
    this.s = statements(db);
  }

  /** Joins the caller's transaction. */
  bump(): void {
    this.s.bump.run();
  }

  get(agentId: string): AgentRecord | undefined {
    const r = this.s.get.get(agentId) as Row | undefined;
    return r && rowToAgent(r);
  }

  put(agent: AgentRecord): void {
    this.db.transaction(() => {
      this.s.put.run(agentToRow(agent));
      this.bump();
    })();
  }

  delete(agentId: string): boolean {
    return this.db.transaction(() => {
      const gone = this.s.delete.run(agentId).changes === 1;
      this.s.deleteHeartbeat.run(agentId);
      if (gone) this.bump();
      return gone;
    })();
  }

  list(q: PageQuery): Page<AgentRecord> {
    const after = q.cursor ? decodeCursor(q.cursor, ['string'] as const)[0] : '';
    const rows = this.s.list.all(after, q.limit + 1) as Row[];
    const items = rows.slice(0, q.limit).map(rowToAgent);
    const last = items.at(-1);
    return rows.length > q.limit && last ? { items, next_cursor: encodeCursor([last.agent_id]) } : { items };
  }

  load(): AgentState {
    return this.db.transaction(() => ({
      revision: this.revision(),
      agents: (this.s.all.all() as Row[]).map(rowToAgent),
      blocks: (this.s.blocks.all() as Row[]).map(rowToBlock),
    }))();
  }

  revision(): number {
    return (this.s.revision.get() as { revision: number }).revision;
  }

  putHeartbeats(rows: readonly HeartbeatRecord[]): void {
    if (rows.length === 0) return;
    this.db.transaction(() => {
      for (const h of rows) this.s.heartbeat.run(heartbeatToRow(h));
    })();
  }

  getHeartbeat(agentId: string): HeartbeatRecord | undefined {
    const r = this.s.getHeartbeat.get(agentId) as Row | undefined;
    return r && rowToHeartbeat(r);
  }
}
