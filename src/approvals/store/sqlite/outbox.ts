/**
 * The webhook outbox in SQLite. Rows are enqueued inside the transactions of the state changes
 * that cause them (ApprovalsSql calls `enqueue` from within its own transactions), and leased
 * rather than locked when claimed, so a crash between claim and mark only delays a delivery.
 */
import type { Database, Statement } from 'better-sqlite3';
import { decodeCursor, encodeCursor } from '../errors.js';
import type { NewOutboxEntry, OutboxRow, Page } from '../records.js';
import type { PageQuery } from '../store.js';
import { rowToOutbox } from '../codec.js';

type Row = Record<string, unknown>;

function statements(db: Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    insert: p(`INSERT INTO webhook_outbox (event_id, event, payload, url, attempts, next_attempt_at, state, created_at, action_id)
      VALUES (:event_id, :event, :payload, :url, 0, :created_at, 'pending', :created_at, :action_id)`),
    // One statement: the sub-select and the update see the same snapshot under the write lock,
    // so two workers (or processes) never lease the same row at once.
    claim: p(`UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = :lease_until
      WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= :now
                   ORDER BY next_attempt_at, id LIMIT :limit)
      RETURNING *`),
    delivered: p(`UPDATE webhook_outbox SET state = 'delivered', delivered_at = ? WHERE id = ?`),
    // Guarded by state: a late failure report from a worker whose lease ran out must not reopen
    // a row another worker has since delivered.
    failed: p(`UPDATE webhook_outbox SET last_error = ?, next_attempt_at = ? WHERE id = ? AND state = 'pending'`),
    dead: p(`UPDATE webhook_outbox SET state = 'dead', last_error = ? WHERE id = ? AND state = 'pending'`),
    depth: p(`SELECT COUNT(*) AS n FROM webhook_outbox WHERE state = 'pending'`),
    requeue: p(`UPDATE webhook_outbox SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ? AND state = 'dead'`),
    forAction: p(`SELECT * FROM webhook_outbox WHERE action_id = ? ORDER BY id LIMIT ?`),
    purge: p(`DELETE FROM webhook_outbox WHERE state = 'delivered' AND created_at < ?`),
  };
}

export class OutboxSql {
  private readonly s: ReturnType<typeof statements>;

  constructor(private readonly db: Database) {
    this.s = statements(db);
  }

  /** Insert rows; joins the caller's transaction when called inside one. */
  enqueue(entries: readonly NewOutboxEntry[]): void {
    if (entries.length === 0) return;
    this.db.transaction(() => {
      for (const e of entries) this.s.insert.run(e);
    })();
  }

  claim(now: number, limit: number, leaseMs: number): OutboxRow[] {
    const rows = this.s.claim.all({ now, limit, lease_until: now + leaseMs }) as Row[];
    return rows.map(rowToOutbox).sort((a, b) => a.id - b.id);
  }

  markDelivered(id: number, now: number): void {
    this.s.delivered.run(now, id);
  }

  markFailed(id: number, error: string, nextAttemptAt: number): void {
    this.s.failed.run(error, nextAttemptAt, id);
  }

  markDead(id: number, error: string): void {
    this.s.dead.run(error, id);
  }

  depth(): number {
    return (this.s.depth.get() as { n: number }).n;
  }

  deadLetters(q: PageQuery): Page<OutboxRow> {
    const before = q.cursor ? decodeCursor(q.cursor, ['number'] as const)[0] : Number.MAX_SAFE_INTEGER;
    const rows = this.db
      .prepare(`SELECT * FROM webhook_outbox WHERE state = 'dead' AND id < ? ORDER BY id DESC LIMIT ?`)
      .all(before, q.limit + 1) as Row[];
    const items = rows.slice(0, q.limit).map(rowToOutbox);
    const last = items.at(-1);
    return rows.length > q.limit && last ? { items, next_cursor: encodeCursor([last.id]) } : { items };
  }

  forAction(actionId: string, limit: number): OutboxRow[] {
    return (this.s.forAction.all(actionId, limit) as Row[]).map(rowToOutbox);
  }

  requeue(id: number, now: number): boolean {
    return this.s.requeue.run(now, id).changes === 1;
  }

  purgeDelivered(before: number): number {
    return this.s.purge.run(before).changes;
  }
}
