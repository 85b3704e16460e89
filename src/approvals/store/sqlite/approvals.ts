/**
 * Actions, approvals and votes in SQLite. Synchronous (better-sqlite3); SqliteStore wraps these
 * in Promises. Writes that read first run as IMMEDIATE transactions so the check and the write
 * hold one write lock, also against other processes on the same file.
 */
import type { Database, Statement } from 'better-sqlite3';
import { decodeCursor, encodeCursor } from '../errors.js';
import type { ActionRecord, ApprovalRecord, Page } from '../records.js';
import type {
  ActionCompletion, ActionListQuery, ApprovalTransition, CompleteResult, CreatePendingResult, GrantOutcome,
  LatestApproval, NewPendingApproval, PageQuery, TransitionResult,
} from '../store.js';
import { actionToRow, approvalToRow, rowToAction, rowToApproval, rowToVote, voteToRow } from '../codec.js';
import type { OutboxSql } from './outbox.js';

type Row = Record<string, unknown>;

function statements(db: Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    insertAction: p(`INSERT INTO actions (action_id, fingerprint, agent_id, action_type, resource, parameters,
      context, binding, decision, policy_id, risk_score, reason, approval_id, status, created_at, updated_at,
      completion_status, completion_result, completed_at, requested_by)
      VALUES (:action_id, :fingerprint, :agent_id, :action_type, :resource, :parameters, :context, :binding,
      :decision, :policy_id, :risk_score, :reason, :approval_id, :status, :created_at, :updated_at,
      :completion_status, :completion_result, :completed_at, :requested_by)`),
    insertApproval: p(`INSERT INTO approvals VALUES (:approval_id, :action_id, :fingerprint, :workflow,
      :current_step, :escalated, :state, :requested_at, :decided_at, :deadline_at, :reason, :grant_kind,
      :grant_ttl_seconds, :grant_expires_at, :grant_used_at, :version)`),
    insertVote: p(`INSERT INTO votes VALUES (:approval_id, :step, :escalated, :approver, :groups, :vote, :comment, :at)`),
    action: p('SELECT * FROM actions WHERE action_id = ?'),
    // The ids as one JSON array: no bound on how many, one statement however many.
    actions: p('SELECT * FROM actions WHERE action_id IN (SELECT value FROM json_each(?))'),
    approval: p('SELECT * FROM approvals WHERE approval_id = ?'),
    votes: p('SELECT * FROM votes WHERE approval_id = ? ORDER BY at, rowid'),
    pendingByFp: p(`SELECT * FROM approvals WHERE fingerprint = ? AND state = 'pending'`),
    latestByFp: p('SELECT * FROM approvals WHERE fingerprint = ? ORDER BY requested_at DESC, rowid DESC LIMIT 1'),
    count: p('SELECT COUNT(*) AS n FROM approvals WHERE state = ?'),
    // Through the partial index actions_pending_by_agent, each row confirmed by its approval.
    pendingOfAgent: p(`SELECT COUNT(*) AS n FROM actions a JOIN approvals p ON p.approval_id = a.approval_id
      WHERE a.agent_id = ? AND a.status = 'pending' AND p.state = 'pending'`),
    due: p(`SELECT * FROM approvals WHERE state = 'pending' AND deadline_at <= ? ORDER BY deadline_at LIMIT ?`),
    nextDeadline: p(`SELECT MIN(deadline_at) AS d FROM approvals WHERE state = 'pending'`),
    update: p(`UPDATE approvals SET state = :state, current_step = :current_step, escalated = :escalated,
      deadline_at = :deadline_at, decided_at = :decided_at, reason = :reason,
      grant_expires_at = COALESCE(:grant_expires_at, grant_expires_at), version = version + 1
      WHERE approval_id = :approval_id AND version = :expected_version`),
    actionStatus: p('UPDATE actions SET status = ?, updated_at = ? WHERE action_id = ?'),
    useGrant: p('UPDATE approvals SET grant_used_at = ?, version = version + 1 WHERE approval_id = ?'),
    complete: p(`UPDATE actions SET status = 'completed', completion_status = ?, completion_result = ?,
      completed_at = ?, updated_at = ? WHERE action_id = ?`),
  };
}

export class ApprovalsSql {
  private readonly s: ReturnType<typeof statements>;

  constructor(private readonly db: Database, private readonly outbox: OutboxSql) {
    this.s = statements(db);
  }

  getAction(id: string): ActionRecord | undefined {
    const r = this.s.action.get(id) as Row | undefined;
    return r && rowToAction(r);
  }

  getActions(ids: readonly string[]): ActionRecord[] {
    return ids.length === 0 ? [] : (this.s.actions.all(JSON.stringify(ids)) as Row[]).map(rowToAction);
  }

  getApproval(id: string): ApprovalRecord | undefined {
    return this.load(this.s.approval.get(id) as Row | undefined);
  }

  insertAction(action: ActionRecord): void {
    this.s.insertAction.run(actionToRow(action));
  }

  /** The caps are counted under the IMMEDIATE transaction's write lock: exact across processes too. */
  createPending(input: NewPendingApproval): CreatePendingResult {
    return this.db.transaction((): CreatePendingResult => {
      const existing = this.load(this.s.pendingByFp.get(input.approval.fingerprint) as Row | undefined);
      if (existing) return { created: false, approval: existing, action: this.getAction(existing.action_id)! };
      const { per_agent, total } = input.limits;
      if ((this.s.pendingOfAgent.get(input.action.agent_id) as { n: number }).n >= per_agent) {
        return { created: false, rejected: 'too_many_pending', limit: 'per_agent', max: per_agent };
      }
      if (this.count('pending') >= total) return { created: false, rejected: 'too_many_pending', limit: 'total', max: total };
      this.s.insertAction.run(actionToRow(input.action));
      this.s.insertApproval.run(approvalToRow(input.approval));
      this.outbox.enqueue(input.outbox);
      return { created: true, action: input.action, approval: input.approval };
    }).immediate();
  }

  findPendingByFingerprint(fp: string): ApprovalRecord | undefined {
    return this.load(this.s.pendingByFp.get(fp) as Row | undefined);
  }

  findLatestByFingerprint(fp: string): ApprovalRecord | undefined {
    return this.load(this.s.latestByFp.get(fp) as Row | undefined);
  }

  list(q: PageQuery & { state?: ApprovalRecord['state'] }): Page<ApprovalRecord> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.state) { where.push('state = ?'); args.push(q.state); }
    if (q.cursor) {
      const [at, id] = decodeCursor(q.cursor, ['number', 'string'] as const);
      where.push('(requested_at < ? OR (requested_at = ? AND approval_id < ?))');
      args.push(at, at, id);
    }
    const sql = `SELECT * FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY requested_at DESC, approval_id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, q.limit + 1) as Row[];
    const items = rows.slice(0, q.limit).map((r) => this.load(r)!);
    const last = items.at(-1);
    return rows.length > q.limit && last
      ? { items, next_cursor: encodeCursor([last.requested_at, last.approval_id]) }
      : { items };
  }

  listActions(q: ActionListQuery): { items: ActionRecord[]; total: number } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.agent_id !== undefined) { where.push('agent_id = ?'); args.push(q.agent_id); }
    if (q.status !== undefined) { where.push('status = ?'); args.push(q.status); }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = this.db.prepare(`SELECT * FROM actions ${filter} ORDER BY created_at DESC, action_id DESC LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as Row[];
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM actions ${filter}`).get(...args) as { n: number }).n;
    return { items: rows.map(rowToAction), total };
  }

  count(state: ApprovalRecord['state']): number {
    return (this.s.count.get(state) as { n: number }).n;
  }

  due(now: number, limit: number): ApprovalRecord[] {
    return (this.s.due.all(now, limit) as Row[]).map((r) => this.load(r)!);
  }

  nextDeadline(): number | undefined {
    return (this.s.nextDeadline.get() as { d: number | null }).d ?? undefined;
  }

  transition(t: ApprovalTransition): TransitionResult {
    const run = this.db.transaction((): TransitionResult => {
      const cur = this.s.approval.get(t.approval_id) as Row | undefined;
      if (!cur) return { ok: false, error: 'not_found' };
      if (cur.version !== t.expected_version) return { ok: false, error: 'conflict' };
      if (t.vote) this.s.insertVote.run(voteToRow(t.approval_id, t.vote));
      const n = t.next;
      this.s.update.run({
        approval_id: t.approval_id, expected_version: t.expected_version, state: n.state,
        current_step: n.current_step, escalated: n.escalated ? 1 : 0, deadline_at: n.deadline_at,
        decided_at: n.decided_at, reason: n.reason, grant_expires_at: t.grant_expires_at ?? null,
      });
      if (t.action_status) this.s.actionStatus.run(t.action_status, t.now, cur.action_id);
      this.outbox.enqueue(t.outbox);
      return { ok: true, approval: this.getApproval(t.approval_id)! };
    });
    try {
      return run.immediate();
    } catch (err) {
      // The same approver voting twice at once: the UNIQUE(approval_id, approver) backstop.
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return { ok: false, error: 'conflict' };
      throw err;
    }
  }

  consumeGrant(id: string, now: number): GrantOutcome {
    return this.db.transaction((): GrantOutcome => {
      const a = this.getApproval(id);
      if (!a) return { ok: false, reason: 'not_found' };
      if (a.state !== 'approved') return { ok: false, reason: 'not_approved' };
      if (a.grant_expires_at !== null && now >= a.grant_expires_at) {
        this.expireAction(a.action_id, now);
        return { ok: false, reason: 'expired' };
      }
      if (a.grant === 'single_use' && a.grant_used_at !== null) return { ok: false, reason: 'used' };
      if (a.grant_used_at === null) this.s.useGrant.run(now, id); // ttl grants record their first use
      return { ok: true, approval: this.getApproval(id)! };
    }).immediate();
  }

  /** One IMMEDIATE transaction: the read and the grant's use under one write lock. */
  useLatest(fp: string, now: number): LatestApproval {
    return this.db.transaction((): LatestApproval => {
      const latest = this.findLatestByFingerprint(fp);
      if (latest?.state !== 'approved') return latest ? { latest } : {};
      return { latest, grant: this.consumeGrant(latest.approval_id, now) };
    }).immediate();
  }

  complete(c: ActionCompletion): CompleteResult {
    return this.db.transaction((): CompleteResult => {
      const a = this.getAction(c.action_id);
      if (!a) return { ok: false, error: 'not_found' };
      if (a.status === 'completed') return { ok: true, action: a, changed: false };
      if (a.status !== 'approved' && a.status !== 'expired') return { ok: false, error: 'invalid_state', action: a };
      const result = c.result === undefined ? null : JSON.stringify(c.result);
      this.s.complete.run(c.status, result, c.now, c.now, c.action_id);
      this.outbox.enqueue(c.outbox);
      return { ok: true, action: this.getAction(c.action_id)!, changed: true };
    }).immediate();
  }

  private expireAction(actionId: string, now: number): void {
    const a = this.getAction(actionId);
    if (a?.status === 'approved') this.s.actionStatus.run('expired', now, actionId);
  }

  private load(r: Row | undefined): ApprovalRecord | undefined {
    if (!r) return undefined;
    const votes = (this.s.votes.all(r.approval_id) as Row[]).map(rowToVote);
    return rowToApproval(r, votes);
  }
}
