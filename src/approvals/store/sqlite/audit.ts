/** The audit trail in SQLite: batched appends, cursor-paged newest-first queries, retention. */
import type { Database, Statement } from 'better-sqlite3';
import { decodeCursor, encodeCursor } from '../errors.js';
import type { AuditRecord, Page, StoredAuditRecord } from '../records.js';
import type { AuditQuery } from '../store.js';
import { auditToRow, rowToAudit } from '../codec.js';

type Row = Record<string, unknown>;

/**
 * How long an audit flush waits for another connection's write lock. Short: the AuditBuffer
 * keeps a failed batch and retries it (flushIntervalMs later), while a flush that waited the
 * connection's full busy timeout would hold the store's thread — and the approvals queued behind
 * it — for that long, every time, for as long as someone else holds the lock.
 */
export const AUDIT_BUSY_TIMEOUT_MS = 250;

export class AuditSql {
  private readonly insert: Statement;
  private readonly purge: Statement;

  constructor(private readonly db: Database) {
    this.insert = db.prepare(`INSERT INTO audit (ts, action_id, request_id, adapter, agent_id, action_type,
      resource, decision, policy_id, risk_score, cache_hit, latency_us, reason, event_type, actor, details)
      VALUES (:ts, :action_id, :request_id, :adapter, :agent_id, :action_type, :resource, :decision, :policy_id,
      :risk_score, :cache_hit, :latency_us, :reason, :event_type, :actor, :details)`);
    this.purge = db.prepare('DELETE FROM audit WHERE ts < ?');
  }

  /** The whole batch in one transaction: one fsync per flush instead of one per decision. */
  append(rows: readonly AuditRecord[]): void {
    if (rows.length === 0) return;
    const busyTimeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${AUDIT_BUSY_TIMEOUT_MS}`);
    try {
      this.db.transaction(() => {
        for (const r of rows) this.insert.run(auditToRow(r));
      })();
    } finally {
      this.db.pragma(`busy_timeout = ${busyTimeout}`);
    }
  }

  query(q: AuditQuery): Page<StoredAuditRecord> {
    const { where, args } = filters(q);
    if (q.cursor) {
      where.push('id < ?');
      args.push(decodeCursor(q.cursor, ['number'] as const)[0]);
    }
    const offset = q.cursor ? 0 : (q.offset ?? 0);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ? OFFSET ?`;
    const rows = this.db.prepare(sql).all(...args, q.limit + 1, offset) as Row[];
    const items = rows.slice(0, q.limit).map(rowToAudit);
    const last = items.at(-1);
    return rows.length > q.limit && last ? { items, next_cursor: encodeCursor([last.id]) } : { items };
  }

  count(q: Omit<AuditQuery, 'limit' | 'cursor' | 'offset'>): number {
    const { where, args } = filters(q);
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`).get(...args) as { n: number }).n;
  }

  purgeBefore(before: number): number {
    return this.purge.run(before).changes;
  }
}

/** The WHERE clauses of an audit query's filters. */
function filters(q: Omit<AuditQuery, 'limit' | 'cursor' | 'offset'>): { where: string[]; args: (string | number)[] } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const add = (clause: string, value: string | number) => { where.push(clause); args.push(value); };
  if (q.event_type !== '*') add('event_type = ?', q.event_type ?? 'decision');
  if (q.action_id !== undefined) add('action_id = ?', q.action_id);
  if (q.agent_id !== undefined) add('agent_id = ?', q.agent_id);
  if (q.decision !== undefined) add('decision = ?', q.decision);
  if (q.since !== undefined) add('ts >= ?', q.since);
  if (q.until !== undefined) add('ts < ?', q.until);
  return { where, args };
}
