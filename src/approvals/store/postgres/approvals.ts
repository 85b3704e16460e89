/**
 * Actions, approvals and votes in PostgreSQL, for every replica of a fleet at once.
 *
 * - New pending approvals serialize on one transaction-scoped advisory lock, so the caps on
 *   pending approvals are exact across replicas (SQLite gets the same from its write lock), and
 *   the partial unique index keeps one pending approval per fingerprint whatever happens.
 * - A transition locks the approval's row (FOR UPDATE) and writes only at the version read:
 *   optimistic concurrency, so two votes on two replicas never overwrite each other — the loser
 *   gets `conflict`, re-reads and retries.
 * - Using a grant locks the row too: a single_use grant is consumed exactly once however many
 *   retries race for it on however many replicas.
 */
import type pg from 'pg';
import { decodeCursor, encodeCursor } from '../errors.js';
import type { ActionRecord, ApprovalRecord, NewOutboxEntry, Page } from '../records.js';
import { actionToRow, approvalToRow, rowToAction, rowToApproval, rowToVote, voteToRow, type Row } from '../sqlite/codec.js';
import type {
  ActionCompletion, ActionListQuery, ApprovalTransition, CompleteResult, CreatePendingResult, GrantOutcome,
  NewPendingApproval, PageQuery, TransitionResult,
} from '../store.js';
import { insertSql, isUniqueViolation, norm, notify, tx, values, type NotifyTarget, type Q } from './db.js';

const ACTION_COLS = ['action_id', 'fingerprint', 'agent_id', 'action_type', 'resource', 'parameters', 'context', 'binding',
  'decision', 'policy_id', 'risk_score', 'reason', 'approval_id', 'status', 'created_at', 'updated_at',
  'completion_status', 'completion_result', 'completed_at', 'requested_by'] as const;
const APPROVAL_COLS = ['approval_id', 'action_id', 'fingerprint', 'workflow', 'current_step', 'escalated', 'state',
  'requested_at', 'decided_at', 'deadline_at', 'reason', 'grant_kind', 'grant_ttl_seconds', 'grant_expires_at',
  'grant_used_at', 'version'] as const;
const VOTE_COLS = ['approval_id', 'step', 'escalated', 'approver', 'groups', 'vote', 'comment', 'at'] as const;
const OUTBOX_COLS = ['event_id', 'event', 'payload', 'url', 'created_at', 'action_id'] as const;

const INSERT_ACTION = insertSql('actions', ACTION_COLS);
/** An approval with its votes in one round trip (votes as JSON, oldest first). */
const SELECT_APPROVAL = `SELECT p.*, COALESCE((SELECT json_agg(v ORDER BY v.at, v.seq) FROM votes v WHERE v.approval_id = p.approval_id)::text, '[]') AS votes_json
  FROM approvals p`;
const INSERT_APPROVAL = insertSql('approvals', APPROVAL_COLS);
const INSERT_VOTE = insertSql('votes', VOTE_COLS);

/** Rows enqueued in the caller's transaction: one statement however many. */
export async function enqueueOutbox(q: Q, entries: readonly NewOutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const cols = OUTBOX_COLS.map((c) => entries.map((e) => e[c]));
  await q.query(`INSERT INTO webhook_outbox (event_id, event, payload, url, attempts, next_attempt_at, state, created_at, action_id)
    SELECT e, ev, p, u, 0, c, 'pending', c, a FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
    WITH ORDINALITY AS t(e, ev, p, u, c, a, n) ORDER BY n`, cols);
}

export class ApprovalsPg {
  constructor(private readonly pool: pg.Pool, private readonly schema: string, private readonly n: NotifyTarget) {}

  async getAction(id: string, q: Q = this.pool): Promise<ActionRecord | undefined> {
    const r = (await q.query<Row>('SELECT * FROM actions WHERE action_id = $1', [id])).rows[0];
    return r && rowToAction(r);
  }

  async getApproval(id: string, q: Q = this.pool): Promise<ApprovalRecord | undefined> {
    return this.load(q, (await q.query<Row>(`${SELECT_APPROVAL} WHERE approval_id = $1`, [id])).rows[0]);
  }

  async insertAction(action: ActionRecord): Promise<void> {
    await this.pool.query(INSERT_ACTION, values(ACTION_COLS, actionToRow(action)));
  }

  /**
   * Write first, count after: the action, approval, outbox rows and notification go in with one
   * statement outside any lock (the unique index keeps one pending approval per fingerprint),
   * then the schema's advisory lock is taken and the caps are counted — including this row,
   * and every row committed before the lock was granted — and the transaction commits or rolls
   * back. Only the count and the COMMIT are serialized, so the caps stay exact across replicas
   * (no two transactions count while either is uncommitted) without holding the lock over the
   * writes.
   */
  async createPending(input: NewPendingApproval): Promise<CreatePendingResult> {
    const existingNow = await this.findPendingByFingerprint(input.approval.fingerprint);
    if (existingNow) return { created: false, approval: existingNow, action: (await this.getAction(existingNow.action_id))! };
    const c = await this.pool.connect();
    let broken: Error | undefined;
    let duplicate = false;
    try {
      await c.query('BEGIN');
      const args: unknown[] = [];
      const ps = (vals: unknown[]) => vals.map((v) => { args.push(v); return `$${args.length}`; }).join(', ');
      const actionVals = ps(values(ACTION_COLS, actionToRow(input.action)));
      const approvalVals = ps(values(APPROVAL_COLS, approvalToRow(input.approval)));
      const e = input.outbox;
      const [events, names, payloads, urls, created, actions] = ps(OUTBOX_COLS.map((col) => e.map((x) => x[col]))).split(', ');
      const note = ps([this.n.channel, `${this.n.instanceId}|deadline|`]);
      try {
        await c.query(`WITH a AS (INSERT INTO actions (${ACTION_COLS.join(', ')}) VALUES (${actionVals})),
          p AS (INSERT INTO approvals (${APPROVAL_COLS.join(', ')}) VALUES (${approvalVals})),
          o AS (INSERT INTO webhook_outbox (event_id, event, payload, url, attempts, next_attempt_at, state, created_at, action_id)
            SELECT e, ev, pl, u, 0, ct, 'pending', ct, ac FROM unnest(${events}::text[], ${names}::text[], ${payloads}::text[], ${urls}::text[], ${created}::bigint[], ${actions}::text[])
            WITH ORDINALITY AS t(e, ev, pl, u, ct, ac, n) ORDER BY n)
          SELECT pg_notify(${note})`, args);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        duplicate = true; // the same action made pending by another caller just now
      }
      let out: CreatePendingResult | undefined;
      if (!duplicate) {
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ascend:${this.schema}:pending`]);
        const { per_agent, total } = input.limits;
        // A new statement, so a new snapshot: every row committed before the lock, and this one.
        const n = (await c.query<{ mine: number; total: number }>(`SELECT
            (SELECT COUNT(*) FROM actions a JOIN approvals p ON p.approval_id = a.approval_id
              WHERE a.agent_id = $1 AND a.status = 'pending' AND p.state = 'pending') AS mine,
            (SELECT COUNT(*) FROM (SELECT 1 FROM approvals WHERE state = 'pending' LIMIT $2) t) AS total`,
        [input.action.agent_id, total + 1])).rows[0]!;
        if (n.mine > per_agent) out = { created: false, rejected: 'too_many_pending', limit: 'per_agent', max: per_agent };
        else if (n.total > total) out = { created: false, rejected: 'too_many_pending', limit: 'total', max: total };
      }
      if (duplicate || out) {
        await c.query('ROLLBACK');
        if (out) return out;
      } else {
        await c.query('COMMIT');
        return { created: true, action: input.action, approval: input.approval };
      }
    } catch (err) {
      await c.query('ROLLBACK').catch((e: unknown) => { broken = e as Error; });
      throw err;
    } finally {
      c.release(broken);
    }
    // Lost the race for the fingerprint: the winner's approval, once it is readable.
    const winner = await this.findPendingByFingerprint(input.approval.fingerprint);
    if (winner) return { created: false, approval: winner, action: (await this.getAction(winner.action_id))! };
    return this.createPending(input); // the winner rolled back (a cap): try again
  }

  async findPendingByFingerprint(fp: string, q: Q = this.pool): Promise<ApprovalRecord | undefined> {
    return this.load(q, (await q.query<Row>(`${SELECT_APPROVAL} WHERE fingerprint = $1 AND state = 'pending'`, [fp])).rows[0]);
  }

  async findLatestByFingerprint(fp: string): Promise<ApprovalRecord | undefined> {
    const r = await this.pool.query<Row>(`${SELECT_APPROVAL} WHERE fingerprint = $1 ORDER BY requested_at DESC, seq DESC LIMIT 1`, [fp]);
    return this.load(this.pool, r.rows[0]);
  }

  async list(q: PageQuery & { state?: ApprovalRecord['state'] }): Promise<Page<ApprovalRecord>> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const arg = (v: string | number) => { args.push(v); return `$${args.length}`; };
    if (q.state) where.push(`state = ${arg(q.state)}`);
    if (q.cursor) {
      const [at, id] = decodeCursor(q.cursor, ['number', 'string'] as const);
      where.push(`(requested_at, approval_id) < (${arg(at)}, ${arg(id)})`);
    }
    const sql = `SELECT * FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY requested_at DESC, approval_id DESC LIMIT ${arg(q.limit + 1)}`;
    const rows = (await this.pool.query<Row>(sql, args)).rows;
    const items = await this.loadAll(this.pool, rows.slice(0, q.limit));
    const last = items.at(-1);
    return rows.length > q.limit && last ? { items, next_cursor: encodeCursor([last.requested_at, last.approval_id]) } : { items };
  }

  async listActions(q: ActionListQuery): Promise<{ items: ActionRecord[]; total: number }> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.agent_id !== undefined) { args.push(q.agent_id); where.push(`agent_id = $${args.length}`); }
    if (q.status !== undefined) { args.push(q.status); where.push(`status = $${args.length}`); }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const n = args.length;
    const [rows, total] = await Promise.all([
      this.pool.query<Row>(`SELECT * FROM actions ${filter} ORDER BY created_at DESC, action_id DESC LIMIT $${n + 1} OFFSET $${n + 2}`, [...args, q.limit, q.offset]),
      this.pool.query<{ n: number }>(`SELECT COUNT(*) AS n FROM actions ${filter}`, args),
    ]);
    return { items: rows.rows.map(rowToAction), total: total.rows[0]!.n };
  }

  async count(state: ApprovalRecord['state'], q: Q = this.pool): Promise<number> {
    return (await q.query<{ n: number }>('SELECT COUNT(*) AS n FROM approvals WHERE state = $1', [state])).rows[0]!.n;
  }

  async due(now: number, limit: number): Promise<ApprovalRecord[]> {
    const r = await this.pool.query<Row>(`SELECT * FROM approvals WHERE state = 'pending' AND deadline_at <= $1 ORDER BY deadline_at LIMIT $2`, [now, limit]);
    return this.loadAll(this.pool, r.rows);
  }

  async nextDeadline(): Promise<number | undefined> {
    return (await this.pool.query<{ d: number | null }>(`SELECT MIN(deadline_at) AS d FROM approvals WHERE state = 'pending'`)).rows[0]!.d ?? undefined;
  }

  async transition(t: ApprovalTransition): Promise<TransitionResult> {
    try {
      return await tx(this.pool, async (c): Promise<TransitionResult> => {
        const cur = (await c.query<{ version: number; action_id: string }>(
          'SELECT version, action_id FROM approvals WHERE approval_id = $1 FOR UPDATE', [t.approval_id])).rows[0];
        if (!cur) return { ok: false, error: 'not_found' };
        if (cur.version !== t.expected_version) return { ok: false, error: 'conflict' };
        if (t.vote) await c.query(INSERT_VOTE, values(VOTE_COLS, voteToRow(t.approval_id, t.vote)));
        const n = t.next;
        await c.query(`UPDATE approvals SET state = $1, current_step = $2, escalated = $3, deadline_at = $4, decided_at = $5,
          reason = $6, grant_expires_at = COALESCE($7, grant_expires_at), version = version + 1
          WHERE approval_id = $8 AND version = $9`,
        [n.state, n.current_step, n.escalated, n.deadline_at, n.decided_at, n.reason, t.grant_expires_at ?? null, t.approval_id, t.expected_version]);
        if (t.action_status) await c.query('UPDATE actions SET status = $1, updated_at = $2 WHERE action_id = $3', [t.action_status, t.now, cur.action_id]);
        await enqueueOutbox(c, t.outbox);
        await notify(c, this.n, ['action', cur.action_id], ['deadline']);
        return { ok: true, approval: (await this.getApproval(t.approval_id, c))! };
      });
    } catch (err) {
      // The same approver voting twice at once: the UNIQUE(approval_id, approver) backstop.
      if (isUniqueViolation(err)) return { ok: false, error: 'conflict' };
      throw err;
    }
  }

  /**
   * No explicit transaction: a ttl grant already in use is one read; a first use is one
   * conditional UPDATE, which row-locks and re-checks `grant_used_at IS NULL` — of retries
   * racing on any number of replicas, exactly one matches, the others read it used.
   */
  async consumeGrant(id: string, now: number): Promise<GrantOutcome> {
    const a = await this.getApproval(id);
    if (!a) return { ok: false, reason: 'not_found' };
    if (a.state !== 'approved') return { ok: false, reason: 'not_approved' };
    if (a.grant_expires_at !== null && now >= a.grant_expires_at) {
      const expired = await this.pool.query(`WITH x AS (UPDATE actions SET status = 'expired', updated_at = $1
        WHERE action_id = $2 AND status = 'approved' RETURNING 1) SELECT pg_notify($3, $4) FROM x`,
      [now, a.action_id, this.n.channel, `${this.n.instanceId}|action|${a.action_id}`]);
      void expired;
      return { ok: false, reason: 'expired' };
    }
    if (a.grant_used_at !== null) return a.grant === 'single_use' ? { ok: false, reason: 'used' } : { ok: true, approval: a };
    const used = await this.pool.query<{ version: number }>(`UPDATE approvals SET grant_used_at = $1, version = version + 1
      WHERE approval_id = $2 AND state = 'approved' AND grant_used_at IS NULL RETURNING version`, [now, id]);
    if (used.rowCount === 1) return { ok: true, approval: { ...a, grant_used_at: now, version: used.rows[0]!.version } };
    return this.consumeGrant(id, now); // someone used it first: decide on what they wrote
  }

  complete(x: ActionCompletion): Promise<CompleteResult> {
    return tx(this.pool, async (c): Promise<CompleteResult> => {
      const r = (await c.query<Row>('SELECT * FROM actions WHERE action_id = $1 FOR UPDATE', [x.action_id])).rows[0];
      if (!r) return { ok: false, error: 'not_found' };
      const a = rowToAction(r);
      if (a.status === 'completed') return { ok: true, action: a, changed: false };
      if (a.status !== 'approved' && a.status !== 'expired') return { ok: false, error: 'invalid_state', action: a };
      const result = x.result === undefined ? null : JSON.stringify(x.result);
      const done = await c.query<Row>(`UPDATE actions SET status = 'completed', completion_status = $1, completion_result = $2,
        completed_at = $3, updated_at = $3 WHERE action_id = $4 RETURNING *`, [x.status, result, x.now, x.action_id]);
      await enqueueOutbox(c, x.outbox);
      await notify(c, this.n, ['action', x.action_id]);
      return { ok: true, action: rowToAction(done.rows[0]!), changed: true };
    });
  }

  private async load(q: Q, r: Row | undefined): Promise<ApprovalRecord | undefined> {
    if (!r) return undefined;
    if (typeof r.votes_json === 'string') return rowToApproval(norm(r), (JSON.parse(r.votes_json) as Row[]).map((v) => rowToVote(norm(v))));
    const votes = (await q.query<Row>('SELECT * FROM votes WHERE approval_id = $1 ORDER BY at, seq', [r.approval_id])).rows;
    return rowToApproval(norm(r), votes.map((v) => rowToVote(norm(v))));
  }

  /** Approvals with their votes: one query for all the votes of a page. */
  private async loadAll(q: Q, rows: Row[]): Promise<ApprovalRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.approval_id as string);
    const votes = (await q.query<Row>('SELECT * FROM votes WHERE approval_id = ANY($1) ORDER BY at, seq', [ids])).rows;
    const by = new Map<string, Row[]>();
    for (const v of votes) {
      const list = by.get(v.approval_id as string) ?? [];
      list.push(v);
      by.set(v.approval_id as string, list);
    }
    return rows.map((r) => rowToApproval(norm(r), (by.get(r.approval_id as string) ?? []).map((v) => rowToVote(norm(v)))));
  }
}
