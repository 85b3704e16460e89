/**
 * The audit trail and the webhook outbox in PostgreSQL.
 *
 * - An audit batch is one INSERT over arrays (unnest), one round trip however many rows, and
 *   its ids follow the batch's order. Retention runs on one replica at a time: the purge takes a
 *   transaction-scoped advisory lock and a replica that cannot get it skips (another is purging).
 * - Outbox rows are leased with FOR UPDATE SKIP LOCKED: two replicas claiming at once take
 *   different rows, never the same one, and neither waits for the other. The lease is
 *   `next_attempt_at`, so a deliverer that dies leaves its rows to be claimed again when it runs
 *   out (at-least-once, with the row's stable event id).
 */
import type pg from 'pg';
import { decodeCursor, encodeCursor } from '../errors.js';
import type { AuditRecord, NewOutboxEntry, OutboxRow, Page, StoredAuditRecord } from '../records.js';
import { auditToRow, rowToAudit, rowToOutbox, type Row } from '../codec.js';
import type { AuditQuery, PageQuery } from '../store.js';
import { enqueueOutbox } from './approvals.js';
import { norm, tx, type Q } from './db.js';

const AUDIT_COLS: readonly [string, string][] = [
  ['ts', 'bigint'], ['action_id', 'text'], ['request_id', 'text'], ['adapter', 'text'], ['agent_id', 'text'],
  ['action_type', 'text'], ['resource', 'text'], ['decision', 'text'], ['policy_id', 'text'],
  ['risk_score', 'float8'], ['cache_hit', 'boolean'], ['latency_us', 'bigint'], ['reason', 'text'],
  ['event_type', 'text'], ['actor', 'text'], ['details', 'text'],
];
/**
 * The batch travels as one JSON array, read by json_to_recordset in its order. Not as one array
 * parameter per column (unnest): node-postgres builds array literals in JavaScript, element by
 * element, at ~16 µs per 16-column row on the sidecar's event loop — as much as the cached allow
 * the row records; JSON.stringify is native and ~10× cheaper, and the parsing moves to the
 * server.
 */
const AUDIT_INSERT = `INSERT INTO audit (${AUDIT_COLS.map(([c]) => c).join(', ')})
  SELECT ${AUDIT_COLS.map(([c]) => c).join(', ')}
  FROM ROWS FROM (json_to_recordset($1::json) AS (${AUDIT_COLS.map(([c, t]) => `${c} ${t}`).join(', ')}))
    WITH ORDINALITY AS t(${AUDIT_COLS.map(([c]) => c).join(', ')}, n)
  ORDER BY n`;

/** Appends in the caller's transaction (or alone): one statement for the whole batch. */
export async function appendAudit(q: Q, rows: readonly AuditRecord[]): Promise<void> {
  if (rows.length === 0) return;
  const json = JSON.stringify(rows.map((a) => ({ ...auditToRow(a), cache_hit: a.cache_hit })));
  await q.query({ name: 'ascend_append_audit', text: AUDIT_INSERT, values: [json] });
}

export class TrailPg {
  constructor(private readonly pool: pg.Pool, private readonly schema: string) {}

  append(rows: readonly AuditRecord[]): Promise<void> {
    return appendAudit(this.pool, rows);
  }

  async query(q: AuditQuery): Promise<Page<StoredAuditRecord>> {
    const { where, args } = filters(q);
    if (q.cursor) {
      args.push(decodeCursor(q.cursor, ['number'] as const)[0]);
      where.push(`id < $${args.length}`);
    }
    const offset = q.cursor ? 0 : (q.offset ?? 0);
    const n = args.length;
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${n + 1} OFFSET $${n + 2}`;
    const rows = (await this.pool.query<Row>(sql, [...args, q.limit + 1, offset])).rows;
    const items = rows.slice(0, q.limit).map((r) => rowToAudit(norm(r)));
    const last = items.at(-1);
    return rows.length > q.limit && last ? { items, next_cursor: encodeCursor([last.id]) } : { items };
  }

  async count(q: Omit<AuditQuery, 'limit' | 'cursor' | 'offset'>): Promise<number> {
    const { where, args } = filters(q);
    return (await this.pool.query<{ n: number }>(`SELECT COUNT(*) AS n FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`, args)).rows[0]!.n;
  }

  /** 0 without deleting when another replica holds the retention lock. */
  purgeAudit(before: number): Promise<number> {
    return this.underRetentionLock((c) => c.query('DELETE FROM audit WHERE ts < $1', [before]));
  }

  purgeDelivered(before: number): Promise<number> {
    return this.underRetentionLock((c) => c.query(`DELETE FROM webhook_outbox WHERE state = 'delivered' AND created_at < $1`, [before]));
  }

  enqueue(entries: readonly NewOutboxEntry[]): Promise<void> {
    return enqueueOutbox(this.pool, entries);
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<OutboxRow[]> {
    const r = await this.pool.query<Row>(`UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = $1
      WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= $2
                   ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
      RETURNING *`, [now + leaseMs, now, limit]);
    return r.rows.map(rowToOutbox).sort((a, b) => a.id - b.id);
  }

  async markDelivered(id: number, now: number): Promise<void> {
    await this.pool.query(`UPDATE webhook_outbox SET state = 'delivered', delivered_at = $1 WHERE id = $2`, [now, id]);
  }

  /** Guarded by state: a late report from a deliverer whose lease ran out must not reopen a delivered row. */
  async markFailed(id: number, error: string, nextAttemptAt: number): Promise<void> {
    await this.pool.query(`UPDATE webhook_outbox SET last_error = $1, next_attempt_at = $2 WHERE id = $3 AND state = 'pending'`, [error, nextAttemptAt, id]);
  }

  async markDead(id: number, error: string): Promise<void> {
    await this.pool.query(`UPDATE webhook_outbox SET state = 'dead', last_error = $1 WHERE id = $2 AND state = 'pending'`, [error, id]);
  }

  async depth(): Promise<number> {
    return (await this.pool.query<{ n: number }>(`SELECT COUNT(*) AS n FROM webhook_outbox WHERE state = 'pending'`)).rows[0]!.n;
  }

  async deadLetters(q: PageQuery): Promise<Page<OutboxRow>> {
    const before = q.cursor ? decodeCursor(q.cursor, ['number'] as const)[0] : Number.MAX_SAFE_INTEGER;
    const rows = (await this.pool.query<Row>(`SELECT * FROM webhook_outbox WHERE state = 'dead' AND id < $1 ORDER BY id DESC LIMIT $2`, [before, q.limit + 1])).rows;
    const items = rows.slice(0, q.limit).map(rowToOutbox);
    const last = items.at(-1);
    return rows.length > q.limit && last ? { items, next_cursor: encodeCursor([last.id]) } : { items };
  }

  async forAction(actionId: string, limit: number): Promise<OutboxRow[]> {
    return (await this.pool.query<Row>('SELECT * FROM webhook_outbox WHERE action_id = $1 ORDER BY id LIMIT $2', [actionId, limit])).rows.map(rowToOutbox);
  }

  async requeue(id: number, now: number): Promise<boolean> {
    const r = await this.pool.query(`UPDATE webhook_outbox SET state = 'pending', attempts = 0, next_attempt_at = $1 WHERE id = $2 AND state = 'dead'`, [now, id]);
    return r.rowCount === 1;
  }

  private underRetentionLock(del: (c: Q) => Promise<pg.QueryResult>): Promise<number> {
    return tx(this.pool, async (c) => {
      const got = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [`ascend:${this.schema}:retention`]);
      if (!got.rows[0]!.ok) return 0;
      return (await del(c)).rowCount ?? 0;
    });
  }
}

/** The WHERE clauses of an audit query's filters. */
function filters(q: Omit<AuditQuery, 'limit' | 'cursor' | 'offset'>): { where: string[]; args: (string | number)[] } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const add = (clause: string, value: string | number) => { args.push(value); where.push(`${clause} $${args.length}`); };
  if (q.event_type !== '*') add('event_type =', q.event_type ?? 'decision');
  if (q.action_id !== undefined) add('action_id =', q.action_id);
  if (q.agent_id !== undefined) add('agent_id =', q.agent_id);
  if (q.decision !== undefined) add('decision =', q.decision);
  if (q.since !== undefined) add('ts >=', q.since);
  if (q.until !== undefined) add('ts <', q.until);
  return { where, args };
}
