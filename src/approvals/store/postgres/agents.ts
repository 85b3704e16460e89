/**
 * The agent registry, heartbeats, kill switch and command queues, and the API-made webhook
 * subscriptions, in PostgreSQL. As in SQLite: a block or a lift writes its command, audit row
 * and webhook deliveries in its transaction and only when the state changes (INSERT … ON
 * CONFLICT DO NOTHING / DELETE decide who changed it), and every change to agents or blocks
 * bumps the revision row in the same transaction — the row lock orders concurrent changes.
 */
import type pg from 'pg';
import type { AgentBlockRecord, AgentCommandRecord, AgentRecord, AgentState, HeartbeatRecord } from '../agent-records.js';
import type { KillSwitchEffects, KillSwitchResult } from '../agent-store.js';
import { decodeCursor, encodeCursor } from '../errors.js';
import type { NewWebhook, Page, WebhookChange, WebhookRecord } from '../records.js';
import { agentToRow, commandToRow, heartbeatToRow, rowToAgent, rowToBlock, rowToCommand, rowToHeartbeat } from '../agent-codec.js';
import type { Row } from '../codec.js';
import { rowToWebhook, webhookRowId } from '../webhook-codec.js';
import type { PageQuery, WebhookWrite } from '../store.js';
import { enqueueOutbox } from './approvals.js';
import { insertSql, isUniqueViolation, norm, notify, tx, values, type NotifyTarget, type Q } from './db.js';
import { appendAudit } from './trail.js';

const AGENT_COLS = ['agent_id', 'display_name', 'agent_type', 'environment', 'capabilities', 'allowed_resources', 'sdk_version',
  'metadata', 'model_id', 'trust_level', 'registered_by', 'updated_by', 'created_at', 'updated_at'] as const;
const PUT_AGENT = `${insertSql('agents', AGENT_COLS)} ON CONFLICT (agent_id) DO UPDATE SET
  ${AGENT_COLS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`;
const COMMAND_COLS = ['command_id', 'agent_id', 'command_type', 'target_type', 'reason', 'parameters', 'status', 'issued_by',
  'issued_via', 'created_at', 'expires_at', 'acknowledged_at', 'is_broadcast'] as const;
const BLOCK_COLS = ['agent_id', 'reason', 'activated_at', 'activated_by', 'command_id'] as const;
const BUMP = 'UPDATE agent_state_revision SET revision = revision + 1 WHERE id = 1';

export class AgentsPg {
  constructor(private readonly pool: pg.Pool, private readonly n: NotifyTarget) {}

  /** The revision moves and the other replicas hear of it at commit. */
  private async bump(c: Q): Promise<void> {
    await c.query(BUMP);
    await notify(c, this.n, ['agents']);
  }

  async get(agentId: string): Promise<AgentRecord | undefined> {
    const r = (await this.pool.query<Row>('SELECT * FROM agents WHERE agent_id = $1', [agentId])).rows[0];
    return r && rowToAgent(r);
  }

  put(agent: AgentRecord): Promise<void> {
    return tx(this.pool, async (c) => {
      await c.query(PUT_AGENT, values(AGENT_COLS, agentToRow(agent)));
      await this.bump(c);
    });
  }

  delete(agentId: string): Promise<boolean> {
    return tx(this.pool, async (c) => {
      const gone = (await c.query('DELETE FROM agents WHERE agent_id = $1', [agentId])).rowCount === 1;
      await c.query('DELETE FROM agent_heartbeats WHERE agent_id = $1', [agentId]);
      if (gone) await this.bump(c);
      return gone;
    });
  }

  async list(q: PageQuery): Promise<Page<AgentRecord>> {
    const after = q.cursor ? decodeCursor(q.cursor, ['string'] as const)[0] : '';
    const rows = (await this.pool.query<Row>('SELECT * FROM agents WHERE agent_id > $1 ORDER BY agent_id LIMIT $2', [after, q.limit + 1])).rows;
    const items = rows.slice(0, q.limit).map(rowToAgent);
    const last = items.at(-1);
    return rows.length > q.limit && last ? { items, next_cursor: encodeCursor([last.agent_id]) } : { items };
  }

  /** One snapshot: REPEATABLE READ, so the revision matches the rows read with it. */
  load(): Promise<AgentState> {
    return tx(this.pool, async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const revision = await this.revision(c);
      const agents = (await c.query<Row>('SELECT * FROM agents ORDER BY agent_id')).rows.map(rowToAgent);
      const blocks = (await c.query<Row>('SELECT * FROM agent_blocks ORDER BY agent_id')).rows.map(rowToBlock);
      return { revision, agents, blocks };
    });
  }

  async revision(q: Q = this.pool): Promise<number> {
    return (await q.query<{ revision: number }>('SELECT revision FROM agent_state_revision WHERE id = 1')).rows[0]!.revision;
  }

  /** Two replicas may flush the same agent: the newer heartbeat wins whichever writes last. */
  async putHeartbeats(rows: readonly HeartbeatRecord[]): Promise<void> {
    if (rows.length === 0) return;
    // Newest per agent first, so one statement never touches a row twice.
    const latest = new Map<string, Row>();
    for (const h of rows) {
      const prev = latest.get(h.agent_id);
      if (!prev || (prev.last_heartbeat as number) <= h.last_heartbeat) latest.set(h.agent_id, heartbeatToRow(h));
    }
    const list = [...latest.values()];
    const col = (c: string) => list.map((r) => r[c] ?? null);
    await this.pool.query(`INSERT INTO agent_heartbeats (agent_id, last_heartbeat, session_started_at, sdk_version, metrics)
      SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[])
      ON CONFLICT (agent_id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat,
        session_started_at = excluded.session_started_at, sdk_version = excluded.sdk_version, metrics = excluded.metrics
      WHERE excluded.last_heartbeat >= agent_heartbeats.last_heartbeat`,
    [col('agent_id'), col('last_heartbeat'), col('session_started_at'), col('sdk_version'), col('metrics')]);
  }

  async getHeartbeat(agentId: string): Promise<HeartbeatRecord | undefined> {
    const r = (await this.pool.query<Row>('SELECT * FROM agent_heartbeats WHERE agent_id = $1', [agentId])).rows[0];
    return r && rowToHeartbeat(r);
  }

  block(block: AgentBlockRecord, effects: KillSwitchEffects): Promise<KillSwitchResult> {
    return tx(this.pool, async (c) => {
      const ins = await c.query(`${insertSql('agent_blocks', BLOCK_COLS)} ON CONFLICT (agent_id) DO NOTHING`, values(BLOCK_COLS, { ...block }));
      const changed = ins.rowCount === 1;
      if (changed) await this.write(c, effects);
      const r = (await c.query<Row>('SELECT * FROM agent_blocks WHERE agent_id = $1', [block.agent_id])).rows[0];
      return { changed, block: r && rowToBlock(r) };
    });
  }

  unblock(agentId: string, effects: KillSwitchEffects): Promise<KillSwitchResult> {
    return tx(this.pool, async (c) => {
      const changed = (await c.query('DELETE FROM agent_blocks WHERE agent_id = $1', [agentId])).rowCount === 1;
      if (changed) await this.write(c, effects);
      return { changed, block: undefined };
    });
  }

  async pendingCommands(agentId: string, now: number, limit: number): Promise<AgentCommandRecord[]> {
    const r = await this.pool.query<Row>(`SELECT * FROM agent_commands WHERE agent_id = $1 AND status = 'pending'
      AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at, command_id LIMIT $3`, [agentId, now, limit]);
    return r.rows.map((x) => rowToCommand(norm(x)));
  }

  async acknowledge(agentId: string, commandId: string, now: number): Promise<AgentCommandRecord | undefined> {
    await this.pool.query(`UPDATE agent_commands SET status = 'acknowledged', acknowledged_at = $1
      WHERE command_id = $2 AND agent_id = $3 AND status = 'pending'`, [now, commandId, agentId]);
    const r = (await this.pool.query<Row>('SELECT * FROM agent_commands WHERE command_id = $1 AND agent_id = $2', [commandId, agentId])).rows[0];
    return r && rowToCommand(norm(r));
  }

  private async write(c: Q, effects: KillSwitchEffects): Promise<void> {
    await c.query(insertSql('agent_commands', COMMAND_COLS), values(COMMAND_COLS, commandToRow(effects.command)));
    await appendAudit(c, [effects.audit]);
    await enqueueOutbox(c, effects.outbox);
    await this.bump(c);
  }
}

/** API-made subscriptions: identity ids (never reused after a delete), UNIQUE urls. */
export class WebhooksPg {
  constructor(private readonly pool: pg.Pool, private readonly n: NotifyTarget) {}

  private changed(): void {
    notify(this.pool, this.n, ['webhooks']).catch(() => undefined); // the others also re-read every 5 s
  }

  async create(w: NewWebhook): Promise<WebhookWrite> {
    try {
      const r = await this.pool.query<Row>(`INSERT INTO webhooks (url, events, secret, agent_id, format, created_by, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *`, [w.url, JSON.stringify(w.events), w.secret, w.agent_id, w.format, w.created_by, w.created_at]);
      this.changed();
      return { ok: true, webhook: rowToWebhook(r.rows[0]!) };
    } catch (err) {
      if (isUniqueViolation(err)) return { ok: false, error: 'url_taken' };
      throw err;
    }
  }

  async list(): Promise<WebhookRecord[]> {
    return (await this.pool.query<Row>('SELECT * FROM webhooks ORDER BY id')).rows.map(rowToWebhook);
  }

  async get(webhookId: string): Promise<WebhookRecord | undefined> {
    const id = webhookRowId(webhookId);
    if (id === undefined) return undefined;
    const r = (await this.pool.query<Row>('SELECT * FROM webhooks WHERE id = $1', [id])).rows[0];
    return r && rowToWebhook(r);
  }

  async update(webhookId: string, c: WebhookChange, now: number): Promise<WebhookWrite> {
    const id = webhookRowId(webhookId);
    if (id === undefined) return { ok: false, error: 'not_found' };
    try {
      const r = await this.pool.query<Row>(`UPDATE webhooks SET url = COALESCE($1, url), events = COALESCE($2, events),
        secret = COALESCE($3, secret), format = COALESCE($6, format), updated_at = $4 WHERE id = $5 RETURNING *`,
      [c.url ?? null, c.events ? JSON.stringify(c.events) : null, c.secret ?? null, now, id, c.format ?? null]);
      const row = r.rows[0];
      if (row) this.changed();
      return row ? { ok: true, webhook: rowToWebhook(row) } : { ok: false, error: 'not_found' };
    } catch (err) {
      if (isUniqueViolation(err)) return { ok: false, error: 'url_taken' };
      throw err;
    }
  }

  async remove(webhookId: string): Promise<boolean> {
    const id = webhookRowId(webhookId);
    const gone = id !== undefined && (await this.pool.query('DELETE FROM webhooks WHERE id = $1', [id])).rowCount === 1;
    if (gone) this.changed();
    return gone;
  }
}
