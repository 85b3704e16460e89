import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { auditRow, outboxEntry, pendingApproval } from '../../../../test/helpers/records.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { castVote } from '../../workflow.js';
import { StoreError } from '../errors.js';
import type { ApprovalRecord } from '../records.js';
import type { ApprovalTransition } from '../store.js';
import { SqliteStore } from './sqlite-store.js';

const dir = tempDir('ascend-store-');
let n = 0;
const open: SqliteStore[] = [];
function newStore(path = join(dir, `s${++n}`, 'nested', 'ascend.db')): SqliteStore {
  const s = new SqliteStore({ path });
  open.push(s);
  return s;
}
afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });

const T = 1_700_000_000_000;

function approveTransition(a: ApprovalRecord, approver: string, now: number, over: Partial<ApprovalTransition> = {}): ApprovalTransition {
  const out = castVote(a.workflow, a, { approver, groups: ['finance-manager'], vote: 'approve' }, now);
  if (!out.ok) throw new Error(out.message);
  const { votes: _votes, ...next } = out.state;
  return {
    approval_id: a.approval_id, expected_version: a.version, next, vote: out.vote,
    grant_expires_at: now + a.grant_ttl_seconds * 1000, action_status: 'approved', outbox: [], now, ...over,
  };
}

describe('SqliteStore: opening and migrations', () => {
  it('creates directories, enables WAL and records the schema version', async () => {
    const path = join(dir, 'fresh', 'a', 'b', 'ascend.db');
    await newStore(path).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT version, name FROM schema_migrations').all()).toEqual([
      { version: 1, name: 'actions, approvals, votes, audit, webhook outbox' },
      { version: 2, name: 'audit rows by action id' },
      { version: 3, name: 'what each action was decided on (grants bound to the decision)' },
      { version: 4, name: 'audit rows for events beside decisions (event_type, actor, details)' },
      { version: 5, name: 'agent registry, heartbeats, kill switch and agent commands' },
    ]);
    db.close();
    const again = newStore(path); // reopening migrates nothing and keeps data
    expect(await again.outboxDepth()).toBe(0);
  });

  it('refuses a database written by a newer schema', async () => {
    const path = join(dir, 'newer.db');
    await newStore(path).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations VALUES (99, ?, 0)').run('from the future');
    db.close();
    expect(() => new SqliteStore({ path })).toThrow(expect.objectContaining({ code: 'schema_too_new' }));
  });
});

describe('SqliteStore: approvals', () => {
  it('creates a pending action + approval + outbox atomically and dedupes by fingerprint', async () => {
    const s = newStore();
    const first = pendingApproval({ fingerprint: 'fp-1', outbox: [outboxEntry()] });
    const r1 = await s.createPendingApproval(first);
    expect(r1.created).toBe(true);
    const r2 = await s.createPendingApproval(pendingApproval({ fingerprint: 'fp-1', outbox: [outboxEntry()] }));
    expect(r2).toMatchObject({ created: false, approval: { approval_id: first.approval.approval_id }, action: { action_id: first.action.action_id } });
    expect(await s.outboxDepth()).toBe(1); // the duplicate's event was not enqueued
    expect(await s.getAction(first.action.action_id)).toEqual(first.action);
    expect(await s.getApproval(first.approval.approval_id)).toEqual(first.approval);
    expect((await s.findPendingApprovalByFingerprint('fp-1'))?.approval_id).toBe(first.approval.approval_id);
    expect(await s.findPendingApprovalByFingerprint('fp-2')).toBeUndefined();
  });

  it('keeps one pending approval per fingerprint across two connections to one file', async () => {
    const path = join(dir, 'shared.db');
    const [a, b] = [newStore(path), newStore(path)];
    const results = await Promise.all([
      a.createPendingApproval(pendingApproval({ fingerprint: 'same' })),
      b.createPendingApproval(pendingApproval({ fingerprint: 'same' })),
    ]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(results[0]!.approval.approval_id).toBe(results[1]!.approval.approval_id);
  });

  it('records a vote and its outbox rows in one versioned transition', async () => {
    const s = newStore();
    const { approval } = await s.createPendingApproval(pendingApproval({ now: T }));
    const t = approveTransition(approval, 'alice', T + 10, { outbox: [outboxEntry({ event: 'action.approved' })] });
    const r = await s.transitionApproval(t);
    expect(r.ok && r.approval).toMatchObject({
      state: 'approved', version: 2, decided_at: T + 10, grant_expires_at: T + 10 + 600_000,
      votes: [{ approver: 'alice', vote: 'approve', step: 0, escalated: false, at: T + 10 }],
    });
    expect((await s.getAction(approval.action_id))?.status).toBe('approved');
    expect(await s.outboxDepth()).toBe(1);
    expect(await s.transitionApproval(t)).toEqual({ ok: false, error: 'conflict' }); // stale version
    expect(await s.transitionApproval({ ...t, approval_id: 'nope' })).toEqual({ ok: false, error: 'not_found' });
    expect(await s.outboxDepth()).toBe(1); // failed transitions enqueue nothing
  });

  it('maps a second vote by the same approver to a conflict even at the current version', async () => {
    const s = newStore();
    const wf = { steps: [{ approvers: ['finance-manager'], required: 2, timeout_hours: 1 }] };
    const { approval } = await s.createPendingApproval(pendingApproval({ workflow: wf, now: T }));
    const t = approveTransition(approval, 'alice', T + 1, { action_status: undefined, grant_expires_at: null });
    const r = await s.transitionApproval(t);
    expect(r.ok).toBe(true);
    const again = await s.transitionApproval({ ...t, expected_version: 2 });
    expect(again).toEqual({ ok: false, error: 'conflict' });
    expect((await s.getApproval(approval.approval_id))?.votes).toHaveLength(1);
  });

  it('lists approvals newest first by state with an opaque cursor', async () => {
    const s = newStore();
    for (let i = 0; i < 5; i++) await s.createPendingApproval(pendingApproval({ now: T + i, id: `list-${i}` }));
    const p1 = await s.listApprovals({ state: 'pending', limit: 2 });
    const p2 = await s.listApprovals({ state: 'pending', limit: 2, cursor: p1.next_cursor! });
    const p3 = await s.listApprovals({ state: 'pending', limit: 2, cursor: p2.next_cursor! });
    expect([...p1.items, ...p2.items, ...p3.items].map((a) => a.approval_id)).toEqual(
      ['apr_list-4', 'apr_list-3', 'apr_list-2', 'apr_list-1', 'apr_list-0']);
    expect(p3.next_cursor).toBeUndefined();
    expect((await s.listApprovals({ state: 'approved', limit: 10 })).items).toEqual([]);
    expect(await s.countApprovals('pending')).toBe(5);
    await expect(s.listApprovals({ limit: 1, cursor: 'garbage' })).rejects.toBeInstanceOf(StoreError);
  });

  it('finds due approvals and the next deadline', async () => {
    const s = newStore();
    expect(await s.nextApprovalDeadline()).toBeUndefined();
    const a = await s.createPendingApproval(pendingApproval({ now: T })); // 1 h workflow
    await s.createPendingApproval(pendingApproval({ now: T + 60_000 }));
    expect(await s.nextApprovalDeadline()).toBe(T + 3_600_000);
    expect(await s.listDueApprovals(T + 3_599_999, 10)).toEqual([]);
    expect((await s.listDueApprovals(T + 3_600_000, 10)).map((x) => x.approval_id)).toEqual([a.approval.approval_id]);
  });
});

describe('SqliteStore: grants and completion', () => {
  async function approved(s: SqliteStore, grant: 'single_use' | 'ttl') {
    const { approval } = await s.createPendingApproval(pendingApproval({ now: T, grant, grant_ttl_seconds: 60 }));
    const r = await s.transitionApproval(approveTransition(approval, 'alice', T + 1));
    if (!r.ok) throw new Error(r.error);
    return r.approval;
  }

  it('single_use: consumed once, atomically', async () => {
    const s = newStore();
    const a = await approved(s, 'single_use');
    const uses = await Promise.all([s.consumeGrant(a.approval_id, T + 2), s.consumeGrant(a.approval_id, T + 2)]);
    expect(uses.map((u) => u.ok)).toEqual([true, false]);
    expect(uses[1]).toEqual({ ok: false, reason: 'used' });
    expect((await s.getApproval(a.approval_id))?.grant_used_at).toBe(T + 2);
  });

  it('ttl: reusable until expiry, then expired and the action marked expired', async () => {
    const s = newStore();
    const a = await approved(s, 'ttl');
    expect((await s.consumeGrant(a.approval_id, T + 2)).ok).toBe(true);
    expect((await s.consumeGrant(a.approval_id, T + 60_000)).ok).toBe(true);
    expect(await s.consumeGrant(a.approval_id, T + 60_001)).toEqual({ ok: false, reason: 'expired' });
    expect((await s.getAction(a.action_id))?.status).toBe('expired');
    expect((await s.getApproval(a.approval_id))?.grant_used_at).toBe(T + 2); // first use
  });

  it('refuses grants of pending or unknown approvals', async () => {
    const s = newStore();
    const { approval } = await s.createPendingApproval(pendingApproval());
    expect(await s.consumeGrant(approval.approval_id, T)).toEqual({ ok: false, reason: 'not_approved' });
    expect(await s.consumeGrant('nope', T)).toEqual({ ok: false, reason: 'not_found' });
  });

  it('completes an approved action once and enqueues action.completed with it', async () => {
    const s = newStore();
    const pending = await s.createPendingApproval(pendingApproval());
    const c = { action_id: pending.action.action_id, status: 'success', result: { charge: 'ch_1' }, now: T + 5, outbox: [outboxEntry({ event: 'action.completed' })] };
    expect(await s.completeAction(c)).toMatchObject({ ok: false, error: 'invalid_state' });
    const a = await approved(s, 'single_use');
    const done = await s.completeAction({ ...c, action_id: a.action_id });
    expect(done).toMatchObject({ ok: true, changed: true, action: { status: 'completed', completion_status: 'success', completion_result: { charge: 'ch_1' }, completed_at: T + 5 } });
    expect(await s.completeAction({ ...c, action_id: a.action_id })).toMatchObject({ ok: true, changed: false });
    expect(await s.outboxDepth()).toBe(1);
    expect(await s.completeAction({ ...c, action_id: 'nope' })).toEqual({ ok: false, error: 'not_found' });
  });
});

describe('SqliteStore: audit', () => {
  it('appends a batch, filters, pages newest first and purges by age', async () => {
    const s = newStore();
    const rows = Array.from({ length: 25 }, (_, i) => auditRow({
      ts: T + i * 1000, agent_id: i % 2 ? 'a-odd' : 'a-even', decision: i % 5 === 0 ? 'denied' : 'allowed', cache_hit: i % 3 === 0,
    }));
    await s.appendAudit(rows);
    const all: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await s.queryAudit({ limit: 10, ...(cursor ? { cursor } : {}) });
      all.push(...page.items.map((r) => r.ts));
      cursor = page.next_cursor;
    } while (cursor);
    expect(all).toEqual(rows.map((r) => r.ts).reverse());
    const odd = await s.queryAudit({ limit: 100, agent_id: 'a-odd', decision: 'denied' });
    expect(odd.items.map((r) => r.ts)).toEqual([T + 15_000, T + 5000]);
    const window = await s.queryAudit({ limit: 100, since: T + 3000, until: T + 6000 });
    expect(window.items.map((r) => r.ts)).toEqual([T + 5000, T + 4000, T + 3000]);
    expect(window.items[0]).toMatchObject({ ...rows[5], id: 6 });
    expect(await s.purgeAudit(T + 10_000)).toBe(10);
    expect((await s.queryAudit({ limit: 100 })).items).toHaveLength(15);
  });
});

describe('SqliteStore: outbox', () => {
  it('leases due rows, counts attempts, and re-offers a row whose lease ran out', async () => {
    const s = newStore();
    await s.enqueueOutbox([outboxEntry({ created_at: T }), outboxEntry({ created_at: T + 5 })]);
    expect(await s.claimOutbox(T - 1, 10, 1000)).toEqual([]); // not due yet
    const first = await s.claimOutbox(T, 10, 1000);
    expect(first.map((r) => [r.attempts, r.next_attempt_at])).toEqual([[1, T + 1000]]);
    expect((await s.claimOutbox(T + 999, 10, 1000)).map((r) => r.id)).toEqual([first[0]!.id + 1]);
    const again = await s.claimOutbox(T + 1000, 10, 1000); // the first lease expired: at-least-once
    expect(again.map((r) => [r.id, r.attempts])).toEqual([[first[0]!.id, 2]]);
    expect(await s.outboxDepth()).toBe(2);
  });

  it('marks delivered, failed (only while pending) and dead; lists and requeues dead letters', async () => {
    const s = newStore();
    await s.enqueueOutbox([outboxEntry({ created_at: T }), outboxEntry({ created_at: T }), outboxEntry({ created_at: T })]);
    const [a, b, c] = await s.claimOutbox(T, 10, 1000);
    await s.markDelivered(a!.id, T + 1);
    await s.markFailed(a!.id, 'late report', T + 5); // ignored: already delivered
    await s.markFailed(b!.id, 'HTTP 500', T + 50);
    await s.markDead(c!.id, 'HTTP 404');
    expect(await s.outboxDepth()).toBe(1);
    expect((await s.claimOutbox(T + 49, 10, 1000))).toEqual([]);
    expect((await s.claimOutbox(T + 50, 10, 1000))[0]).toMatchObject({ id: b!.id, last_error: 'HTTP 500', attempts: 2 });
    const dead = await s.listDeadLetters({ limit: 10 });
    expect(dead.items.map((r) => [r.id, r.state, r.last_error])).toEqual([[c!.id, 'dead', 'HTTP 404']]);
    expect(await s.requeueDeadLetter(c!.id, T + 60)).toBe(true);
    expect(await s.requeueDeadLetter(c!.id, T + 60)).toBe(false);
    expect((await s.claimOutbox(T + 60, 10, 1000)).map((r) => [r.id, r.attempts])).toEqual([[c!.id, 1]]);
    expect(await s.purgeDeliveredOutbox(T + 1)).toBe(1);
  });

  it('rejects use after close', async () => {
    const s = newStore();
    await s.close();
    await s.close();
    await expect(s.outboxDepth()).rejects.toMatchObject({ code: 'store_closed' });
  });
});
