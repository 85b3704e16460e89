/**
 * Actions, approvals and votes in PostgreSQL, for every replica of a fleet at once.
 *
 * - New pending approvals count the caps under transaction-scoped advisory locks (see
 *   pending_caps in migrations.ts), so the caps are exact across replicas (SQLite gets the same
 *   from its write lock), and the partial unique index keeps one pending approval per
 *   fingerprint whatever happens.
 * - A transition locks the approval's row (FOR UPDATE) and writes only at the version read:
 *   optimistic concurrency, so two votes on two replicas never overwrite each other — the loser
 *   gets `conflict`, re-reads and retries.
 * - Using a grant is one conditional UPDATE in the statement that reads the approval (useGrant):
 *   a single_use grant is consumed exactly once however many retries race for it on however
 *   many replicas.
 */
import type pg from 'pg';
import { decodeCursor, encodeCursor } from '../errors.js';
import type { ActionRecord, ApprovalRecord, NewOutboxEntry, Page } from '../records.js';
import { actionToRow, approvalToRow, rowToAction, rowToApproval, rowToVote, voteToRow, type Row } from '../codec.js';
import type {
  ActionCompletion, ActionListQuery, ApprovalTransition, CompleteResult, CreatePendingResult, GrantOutcome,
  LatestApproval, NewPendingApproval, PageQuery, TransitionResult,
} from '../store.js';
import { insertSql, isRetryable, isUniqueViolation, norm, notify, tx, values, type NotifyTarget, type Q } from './db.js';

const ACTION_COLS = ['action_id', 'fingerprint', 'agent_id', 'action_type', 'resource', 'parameters', 'context', 'binding',
  'decision', 'policy_id', 'risk_score', 'reason', 'approval_id', 'status', 'created_at', 'updated_at',
  'completion_status', 'completion_result', 'completed_at', 'requested_by'] as const;
const APPROVAL_COLS = ['approval_id', 'action_id', 'fingerprint', 'workflow', 'current_step', 'escalated', 'state',
  'requested_at', 'decided_at', 'deadline_at', 'reason', 'grant_kind', 'grant_ttl_seconds', 'grant_expires_at',
  'grant_used_at', 'version'] as const;
const VOTE_COLS = ['approval_id', 'step', 'escalated', 'approver', 'groups', 'vote', 'comment', 'at'] as const;
const OUTBOX_COLS = ['event_id', 'event', 'payload', 'url', 'created_at', 'action_id'] as const;

const INSERT_ACTION = insertSql('actions', ACTION_COLS);

/**
 * New outbox rows from six parallel arrays, the parameters `arrays` (OUTBOX_COLS' order), kept
 * in array order; `where`, when given, must hold for any to go in (a CTE's condition). The
 * one INSERT of the outbox: alone (enqueueOutbox) or inside a larger statement's CTE.
 */
function insertOutboxSql(arrays: readonly string[], where?: string): string {
  const unnest = OUTBOX_COLS.map((c, k) => `${arrays[k]}::${c === 'created_at' ? 'bigint' : 'text'}[]`).join(', ');
  return `INSERT INTO webhook_outbox (event_id, event, payload, url, attempts, next_attempt_at, state, created_at, action_id)
      SELECT e, ev, pl, ur, 0, ct, 'pending', ct, ac FROM unnest(${unnest})
        WITH ORDINALITY AS t(e, ev, pl, ur, ct, ac, n)${where === undefined ? '' : `
      WHERE ${where}`} ORDER BY n`;
}
const ENQUEUE_OUTBOX = insertOutboxSql(OUTBOX_COLS.map((_, k) => `$${k + 1}`));
/**
 * The hot statements are named (prepared once per connection, planned once) and name their
 * result columns: a newer replica's migration that adds a column then only replans them, where
 * a prepared `SELECT *` would fail on every connection ("cached plan must not change result
 * type") until it reconnected.
 */
const cols = (alias: string, list: readonly string[]) => list.map((c) => `${alias}.${c}`).join(', ');
/** An approval with its votes in one round trip (votes as JSON, oldest first). */
const SELECT_APPROVAL = `SELECT ${cols('p', APPROVAL_COLS)},
  COALESCE((SELECT json_agg(v ORDER BY v.at, v.seq) FROM votes v WHERE v.approval_id = p.approval_id)::text, '[]') AS votes_json
  FROM approvals p`;
const GET_APPROVAL = `${SELECT_APPROVAL} WHERE approval_id = $1`;
const GET_ACTION = `SELECT ${ACTION_COLS.join(', ')} FROM actions WHERE action_id = $1`;
const GET_ACTIONS = `SELECT ${ACTION_COLS.join(', ')} FROM actions WHERE action_id = ANY($1::text[])`;

/**
 * A `deadline` notification names the approval's fingerprint, so that the other replicas drop
 * only that fingerprint's kept grant (grant-memo.ts); a longer one than this (a caller's own
 * idempotency key) goes as '' — any — which keeps the payload far below NOTIFY's 8000 bytes.
 */
const MAX_NOTIFIED_FINGERPRINT = 200;
const notifiedFingerprint = (fp: string): string => (fp.length <= MAX_NOTIFIED_FINGERPRINT ? fp : '');

/**
 * $1… the action's columns, then the approval's, then the outbox's five arrays, then the caps,
 * the lock key, the lock mode and the notification. pending_caps runs first, as the primary
 * query; the CTEs' inserts run after it, to completion.
 */
const CREATE_PENDING = (() => {
  let n = 0;
  const params = (k: number) => Array.from({ length: k }, () => `$${++n}`);
  const action = params(ACTION_COLS.length);
  const approval = params(APPROVAL_COLS.length);
  const outbox = params(OUTBOX_COLS.length);
  const [perAgent, total, lockKey, exclusive, channel, note] = params(6);
  return `WITH a AS (INSERT INTO actions (${ACTION_COLS.join(', ')}) VALUES (${action.join(', ')})),
    p AS (INSERT INTO approvals (${APPROVAL_COLS.join(', ')}) VALUES (${approval.join(', ')})),
    o AS (${insertOutboxSql(outbox)})
    SELECT pending_caps(${action[ACTION_COLS.indexOf('agent_id')]}::text, ${approval[0]}::text, ${perAgent}::int, ${total}::int, ${lockKey}::text, ${exclusive}::boolean),
      pg_notify(${channel}, ${note})`;
})();

/**
 * The grant's use (see useGrant), on the approval picked by `pick` ($1): $2 now, $3 the
 * notification channel, $4 its payload before the action id.
 */
const useGrantSql = (pick: string) => `WITH l AS (${pick}),
  u AS (UPDATE approvals p SET grant_used_at = $2, version = p.version + 1 FROM l
    WHERE p.approval_id = l.approval_id AND p.state = 'approved' AND p.grant_used_at IS NULL
      AND (p.grant_expires_at IS NULL OR $2 < p.grant_expires_at)
    RETURNING p.version),
  x AS (UPDATE actions a SET status = 'expired', updated_at = $2 FROM l
    WHERE a.action_id = l.action_id AND l.state = 'approved' AND l.grant_expires_at IS NOT NULL AND $2 >= l.grant_expires_at
      AND a.status = 'approved'
    RETURNING a.action_id)
  SELECT ${cols('l', APPROVAL_COLS)},
    COALESCE((SELECT json_agg(v ORDER BY v.at, v.seq) FROM votes v WHERE v.approval_id = l.approval_id)::text, '[]') AS votes_json,
    (SELECT version FROM u) AS used_version, (SELECT count(pg_notify($3, $4 || x.action_id)) FROM x) AS expired_n
  FROM l`;
const USE_GRANT_BY_ID = useGrantSql('SELECT * FROM approvals WHERE approval_id = $1');
const USE_GRANT_LATEST = useGrantSql('SELECT * FROM approvals WHERE fingerprint = $1 ORDER BY requested_at DESC, seq DESC LIMIT 1');

/**
 * $1 approval id, $2 expected version, $3–$9 the approval's new fields, $10 the action's new
 * status (or null), $11 now, $12 whether there is a vote, then the vote's columns, the outbox's
 * arrays, the channel and the two notification payloads. The result: no row when the approval
 * does not exist; its columns all null when the version did not match.
 */
const TRANSITION = (() => {
  let i = 12;
  const params = (k: number) => Array.from({ length: k }, () => `$${++i}`);
  const vote = params(VOTE_COLS.length);
  const outbox = params(OUTBOX_COLS.length);
  const [channel, actionNote, deadlineNote] = params(3);
  const voteTypes: Record<(typeof VOTE_COLS)[number], string> = {
    approval_id: 'text', step: 'int', escalated: 'boolean', approver: 'text', groups: 'text', vote: 'text', comment: 'text', at: 'bigint',
  };
  return `WITH cur AS (SELECT approval_id FROM approvals WHERE approval_id = $1),
    u AS (UPDATE approvals SET state = $3, current_step = $4, escalated = $5, deadline_at = $6, decided_at = $7, reason = $8,
        grant_expires_at = COALESCE($9, grant_expires_at), version = version + 1
      WHERE approval_id = $1 AND version = $2 RETURNING ${APPROVAL_COLS.join(', ')}),
    v AS (INSERT INTO votes (${VOTE_COLS.join(', ')})
      SELECT ${VOTE_COLS.map((c, k) => `${vote[k]}::${voteTypes[c]}`).join(', ')} FROM u WHERE $12::boolean),
    s AS (UPDATE actions a SET status = $10, updated_at = $11 FROM u WHERE a.action_id = u.action_id AND $10::text IS NOT NULL),
    o AS (${insertOutboxSql(outbox, 'EXISTS (SELECT 1 FROM u)')})
    SELECT ${cols('u', APPROVAL_COLS)},
      COALESCE((SELECT json_agg(x ORDER BY x.at, x.seq) FROM votes x WHERE x.approval_id = $1)::text, '[]') AS votes_json,
      CASE WHEN u.approval_id IS NOT NULL
        THEN (SELECT 1 FROM (SELECT pg_notify(${channel}, ${actionNote} || u.action_id),
          pg_notify(${channel}, ${deadlineNote} || CASE WHEN length(u.fingerprint) <= ${MAX_NOTIFIED_FINGERPRINT} THEN u.fingerprint ELSE '' END)) z) END AS notified
    FROM cur LEFT JOIN u ON true`;
})();

/** Which cap pending_caps raised, or that it must run again in exclusive mode; undefined for other errors. */
function capsRaised(err: unknown): 'per_agent' | 'total' | 'exclusive' | undefined {
  const e = err as { code?: string; message?: string; detail?: string };
  if (e.code !== 'P0001') return undefined;
  if (e.message === 'ascend: pending_caps_exclusive') return 'exclusive';
  if (e.message !== 'ascend: too_many_pending') return undefined;
  return e.detail === 'per_agent' ? 'per_agent' : 'total';
}

/** Another pending approval for the same fingerprint (the partial unique index). */
function isPendingDuplicate(err: unknown): boolean {
  return isUniqueViolation(err) && (err as { constraint?: string }).constraint === 'approvals_one_pending';
}

/** Rows enqueued in the caller's transaction: one statement however many. */
export async function enqueueOutbox(q: Q, entries: readonly NewOutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const cols = OUTBOX_COLS.map((c) => entries.map((e) => e[c]));
  await q.query(ENQUEUE_OUTBOX, cols);
}

export class ApprovalsPg {
  constructor(private readonly pool: pg.Pool, private readonly schema: string, private readonly n: NotifyTarget) {}

  async getAction(id: string, q: Q = this.pool): Promise<ActionRecord | undefined> {
    const r = (await q.query<Row>({ name: 'ascend_get_action', text: GET_ACTION, values: [id] })).rows[0];
    return r && rowToAction(r);
  }

  async getActions(ids: readonly string[]): Promise<ActionRecord[]> {
    if (ids.length === 0) return [];
    return (await this.pool.query<Row>({ name: 'ascend_get_actions', text: GET_ACTIONS, values: [ids] })).rows.map(rowToAction);
  }

  async getApproval(id: string, q: Q = this.pool): Promise<ApprovalRecord | undefined> {
    return this.load(q, (await q.query<Row>({ name: 'ascend_get_approval', text: GET_APPROVAL, values: [id] })).rows[0]);
  }

  async insertAction(action: ActionRecord): Promise<void> {
    await this.pool.query(INSERT_ACTION, values(ACTION_COLS, actionToRow(action)));
  }

  /**
   * One statement, one round trip, in its own implicit transaction: pending_caps (migration 4)
   * takes the caps' locks and counts in a snapshot taken after they were granted, then the
   * action, approval and outbox rows go in through data-modifying CTEs, and the notification.
   * The locks last to the end of the transaction and are held only inside the server, never
   * over a round trip to a client; creations of different agents far from the total cap do not
   * wait for each other's commits. A cap raises, and the whole statement (rows and
   * notification) rolls back; the partial unique index keeps one pending approval per
   * fingerprint.
   */
  async createPending(input: NewPendingApproval, exclusive = false, attempt = 1): Promise<CreatePendingResult> {
    const { per_agent, total } = input.limits;
    const e = input.outbox;
    try {
      await this.pool.query({
        name: 'ascend_create_pending', text: CREATE_PENDING,
        values: [
          ...values(ACTION_COLS, actionToRow(input.action)), ...values(APPROVAL_COLS, approvalToRow(input.approval)),
          ...OUTBOX_COLS.map((col) => e.map((x) => x[col])),
          per_agent, total, `ascend:${this.schema}:pending`, exclusive, this.n.channel, `${this.n.instanceId}|deadline|${notifiedFingerprint(input.approval.fingerprint)}`,
        ],
      });
      return { created: true, action: input.action, approval: input.approval };
    } catch (err) {
      const raised = capsRaised(err);
      if (raised === 'exclusive') return this.createPending(input, true, attempt);
      // A deadlock between the caps' locks and the fingerprint's unique index (should the rows go
      // in before pending_caps runs): PostgreSQL aborted this one; the other has gone ahead.
      if (isRetryable(err) && attempt < 5) return this.createPending(input, exclusive, attempt + 1);
      // A pending approval for the fingerprint wins over the caps (which may have been counted first).
      if (raised || isPendingDuplicate(err)) {
        const existing = await this.findPendingByFingerprint(input.approval.fingerprint);
        if (existing) return { created: false, approval: existing, action: (await this.getAction(existing.action_id))! };
        if (raised) return { created: false, rejected: 'too_many_pending', limit: raised, max: raised === 'per_agent' ? per_agent : total };
        return this.createPending(input, exclusive); // the approval that won the fingerprint has since left pending: try again
      }
      throw err;
    }
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

  /**
   * One statement (TRANSITION), in its own implicit transaction: the UPDATE writes only at the
   * version read — a concurrent transition, committed first, makes it match nothing (READ
   * COMMITTED re-checks the row it waited for), and the answer is `conflict` — and the vote, the
   * action's status, the outbox rows and the notifications go in only with it. The votes read
   * are those of the statement's snapshot, current whenever the UPDATE matched; the new vote is
   * added to them here.
   */
  async transition(t: ApprovalTransition): Promise<TransitionResult> {
    const n = t.next;
    const vote = t.vote ? voteToRow(t.approval_id, t.vote) : undefined;
    const e = t.outbox;
    let r: Row | undefined;
    try {
      r = (await this.pool.query<Row>({
        name: 'ascend_transition', text: TRANSITION,
        values: [
          t.approval_id, t.expected_version, n.state, n.current_step, n.escalated, n.deadline_at, n.decided_at, n.reason,
          t.grant_expires_at ?? null, t.action_status ?? null, t.now, vote !== undefined,
          ...VOTE_COLS.map((c) => vote?.[c] ?? null), ...OUTBOX_COLS.map((col) => e.map((x) => x[col])),
          this.n.channel, `${this.n.instanceId}|action|`, `${this.n.instanceId}|deadline|`,
        ],
      })).rows[0];
    } catch (err) {
      // The same approver voting twice at once: the UNIQUE(approval_id, approver) backstop.
      if (isUniqueViolation(err)) return { ok: false, error: 'conflict' };
      throw err;
    }
    if (!r) return { ok: false, error: 'not_found' };
    if (r.approval_id === null) return { ok: false, error: 'conflict' };
    const votes = (JSON.parse(r.votes_json as string) as Row[]).map((v) => rowToVote(norm(v)));
    if (vote) {
      const added = rowToVote(vote);
      const at = votes.findIndex((v) => v.at > added.at);
      votes.splice(at < 0 ? votes.length : at, 0, added);
    }
    delete r.votes_json;
    delete r.notified;
    return { ok: true, approval: rowToApproval(norm(r), votes) };
  }

  /** consumeGrant's statement on the approval by id. */
  async consumeGrant(id: string, now: number): Promise<GrantOutcome> {
    const { latest, grant } = await this.useGrant('ascend_use_grant', USE_GRANT_BY_ID, id, now);
    return latest ? grant! : { ok: false, reason: 'not_found' };
  }

  /** The latest approval for the fingerprint and the use of its grant: one statement. */
  async useLatest(fp: string, now: number): Promise<LatestApproval> {
    const r = await this.useGrant('ascend_use_latest', USE_GRANT_LATEST, fp, now);
    return r.latest?.state === 'approved' ? r : r.latest ? { latest: r.latest } : {};
  }

  /**
   * One statement (USE_GRANT): reads the approval and, if it is approved, unused and unexpired,
   * records the use with a conditional UPDATE, which row-locks and re-checks
   * `grant_used_at IS NULL` — of retries racing on any number of replicas exactly one matches.
   * A ttl grant already in use is a plain read (no write, no lock). An expired grant marks its
   * action expired in the same statement. When the row read was unused but the UPDATE matched
   * nothing, another transaction changed it first: the statement runs again and decides on what
   * that one wrote.
   */
  private async useGrant(name: string, text: string, key: string, now: number): Promise<{ latest?: ApprovalRecord; grant?: GrantOutcome }> {
    const r = (await this.pool.query<Row>({ name, text, values: [key, now, this.n.channel, `${this.n.instanceId}|action|`] })).rows[0];
    if (!r) return {};
    const usedVersion = r.used_version as number | null;
    delete r.used_version;
    delete r.expired_n;
    const a = (await this.load(this.pool, r))!;
    if (a.state !== 'approved') return { latest: a, grant: { ok: false, reason: 'not_approved' } };
    if (usedVersion !== null) return { latest: a, grant: { ok: true, approval: { ...a, grant_used_at: now, version: usedVersion } } };
    if (a.grant_expires_at !== null && now >= a.grant_expires_at) return { latest: a, grant: { ok: false, reason: 'expired' } };
    if (a.grant_used_at !== null) return { latest: a, grant: a.grant === 'single_use' ? { ok: false, reason: 'used' } : { ok: true, approval: a } };
    return this.useGrant(name, text, key, now);
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
