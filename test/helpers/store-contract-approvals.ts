/** The store contract, part 1: opening and migrating the database, approvals, caps on pending ones. */
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/approvals/store/errors.js';
import { outboxEntry, pendingApproval } from './records.js';
import { approveTransition, create, T, type StoreContext } from './store-contract-kit.js';

export function approvalsContract(name: string, { newStore, openStore, backend }: StoreContext): void {
  describe(`${name}: opening and migrations`, () => {
    it('records the schema version; reopening migrates nothing and keeps the data', async () => {
      const s = await newStore('fresh');
      await s.enqueueOutbox([outboxEntry()]);
      await s.close();
      expect(await backend.applied('fresh')).toEqual(backend.migrations.map(({ version, name }) => ({ version, name })));
      const again = await newStore('fresh');
      expect(await again.outboxDepth()).toBe(1);
      expect(await backend.applied('fresh')).toHaveLength(backend.migrations.length);
    });

    it('refuses a database written by a newer schema', async () => {
      await (await newStore('newer')).close();
      await backend.recordMigration('newer', 99, 'from the future');
      const refused = openStore('newer');
      await expect(refused).rejects.toBeInstanceOf(StoreError);
      await expect(refused).rejects.toMatchObject({ code: 'schema_too_new', message: expect.stringMatching(/version 99.*upgrade ascend-sidecar/) });
    });

    it('stores opened at once on a new database migrate it once', async () => {
      const stores = await Promise.all([newStore('racing'), newStore('racing'), newStore('racing')]);
      expect(await backend.applied('racing')).toHaveLength(backend.migrations.length);
      await create(stores[0]!, pendingApproval({ fingerprint: 'r' }));
      expect(await stores[2]!.countApprovals('pending')).toBe(1);
    });
  });

  describe(`${name}: approvals`, () => {
    it('creates a pending action + approval + outbox atomically and dedupes by fingerprint', async () => {
      const s = await newStore();
      const first = pendingApproval({ fingerprint: 'fp-1', outbox: [outboxEntry()] });
      const r1 = await create(s, first);
      expect(r1.created).toBe(true);
      const r2 = await create(s, pendingApproval({ fingerprint: 'fp-1', outbox: [outboxEntry()] }));
      expect(r2).toMatchObject({ created: false, approval: { approval_id: first.approval.approval_id }, action: { action_id: first.action.action_id } });
      expect(await s.outboxDepth()).toBe(1); // the duplicate's event was not enqueued
      expect(await s.getAction(first.action.action_id)).toEqual(first.action);
      expect(await s.getApproval(first.approval.approval_id)).toEqual(first.approval);
      expect((await s.findPendingApprovalByFingerprint('fp-1'))?.approval_id).toBe(first.approval.approval_id);
      expect(await s.findPendingApprovalByFingerprint('fp-2')).toBeUndefined();
    });

    it('reads several actions in one call, leaving out unknown ids', async () => {
      const s = await newStore();
      const made = [];
      for (const agent of ['a', 'b', 'c']) made.push((await create(s, pendingApproval({ agent_id: agent }))).action);
      await s.insertAction({ ...made[0]!, action_id: 'act_decided', approval_id: null, decision: 'allowed', status: 'approved', fingerprint: 'fp-decided' });
      const ids = [made[2]!.action_id, 'act_nope', made[0]!.action_id, 'act_decided'];
      const got = await s.getActions(ids);
      const byId = (xs: readonly { action_id: string }[]) => [...xs].sort((x, y) => x.action_id.localeCompare(y.action_id));
      expect(byId(got)).toEqual(byId([made[2]!, made[0]!, (await s.getAction('act_decided'))!]));
      expect(await s.getActions([])).toEqual([]);
      expect(await s.getActions(['act_nope'])).toEqual([]);
      // Many ids at once: more than SQLite's or PostgreSQL's bound on statement parameters.
      expect((await s.getActions([...Array.from({ length: 70_000 }, (_, i) => `act_x${i}`), made[1]!.action_id])).map((a) => a.agent_id)).toEqual(['b']);
    });

    it('keeps one pending approval per fingerprint across two connections to one database', async () => {
      const [a, b] = [await newStore('shared'), await newStore('shared')];
      const results = await Promise.all([
        create(a, pendingApproval({ fingerprint: 'same' })),
        create(b, pendingApproval({ fingerprint: 'same' })),
      ]);
      expect(results.map((r) => r.created).sort()).toEqual([false, true]);
      expect(results[0]!.approval.approval_id).toBe(results[1]!.approval.approval_id);
    });

    it('records a vote and its outbox rows in one versioned transition', async () => {
      const s = await newStore();
      const { approval } = await create(s, pendingApproval({ now: T }));
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
      const s = await newStore();
      const wf = { steps: [{ approvers: ['finance-manager'], required: 2, timeout_hours: 1 }] };
      const { approval } = await create(s, pendingApproval({ workflow: wf, now: T }));
      const t = approveTransition(approval, 'alice', T + 1, { action_status: undefined, grant_expires_at: null });
      const r = await s.transitionApproval(t);
      expect(r.ok).toBe(true);
      const bob = approveTransition((await s.getApproval(approval.approval_id))!, 'bob', T + 2, { action_status: undefined, grant_expires_at: null });
      const second = await s.transitionApproval(bob);
      // What the transition answers is what a read gives: both votes, oldest first.
      expect(second.ok && second.approval).toEqual(await s.getApproval(approval.approval_id));
      expect(second.ok && second.approval.votes.map((v) => v.approver)).toEqual(['alice', 'bob']);
      const again = await s.transitionApproval({ ...t, expected_version: 3 });
      expect(again).toEqual({ ok: false, error: 'conflict' });
      expect((await s.getApproval(approval.approval_id))?.votes).toHaveLength(2);
    });

    it('lists approvals newest first by state with an opaque cursor', async () => {
      const s = await newStore();
      for (let i = 0; i < 5; i++) await create(s, pendingApproval({ now: T + i, id: `list-${i}` }));
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
      const s = await newStore();
      expect(await s.nextApprovalDeadline()).toBeUndefined();
      const a = await create(s, pendingApproval({ now: T })); // 1 h workflow
      await create(s, pendingApproval({ now: T + 60_000 }));
      expect(await s.nextApprovalDeadline()).toBe(T + 3_600_000);
      expect(await s.listDueApprovals(T + 3_599_999, 10)).toEqual([]);
      expect((await s.listDueApprovals(T + 3_600_000, 10)).map((x) => x.approval_id)).toEqual([a.approval.approval_id]);
    });
  });

  describe(`${name}: caps on pending approvals`, () => {
    const limits = (per_agent: number, total: number) => ({ limits: { per_agent, total } });

    it("refuses an agent's next new approval at its cap, writes nothing, and still returns a retry's approval", async () => {
      const s = await newStore();
      const first = pendingApproval({ agent_id: 'a', fingerprint: 'a-0', outbox: [outboxEntry()], ...limits(3, 100) });
      await create(s, first);
      for (const fp of ['a-1', 'a-2']) await create(s, pendingApproval({ agent_id: 'a', fingerprint: fp, ...limits(3, 100) }));
      const over = await s.createPendingApproval(pendingApproval({ agent_id: 'a', fingerprint: 'a-3', outbox: [outboxEntry()], ...limits(3, 100) }));
      expect(over).toEqual({ created: false, rejected: 'too_many_pending', limit: 'per_agent', max: 3 });
      expect(await s.countApprovals('pending')).toBe(3);
      expect(await s.outboxDepth()).toBe(1);
      expect(await s.findLatestApprovalByFingerprint('a-3')).toBeUndefined();
      // A retry of an action already pending is not a new approval: it gets the one it has.
      const retry = await s.createPendingApproval(pendingApproval({ agent_id: 'a', fingerprint: 'a-0', ...limits(3, 100) }));
      expect(retry).toMatchObject({ created: false, approval: { approval_id: first.approval.approval_id } });
      expect((await create(s, pendingApproval({ agent_id: 'b', fingerprint: 'b-0', ...limits(3, 100) }))).created).toBe(true);
    });

    it('counts only pending approvals: a decided one frees its place', async () => {
      const s = await newStore();
      const { approval } = await create(s, pendingApproval({ agent_id: 'a', now: T, ...limits(1, 100) }));
      expect(await s.createPendingApproval(pendingApproval({ agent_id: 'a', ...limits(1, 100) }))).toMatchObject({ rejected: 'too_many_pending' });
      expect((await s.transitionApproval(approveTransition(approval, 'alice', T + 1))).ok).toBe(true);
      expect((await create(s, pendingApproval({ agent_id: 'a', ...limits(1, 100) }))).created).toBe(true);
    });

    it("refuses any agent's new approval at the store-wide cap", async () => {
      const s = await newStore();
      for (const agent of ['a', 'b']) await create(s, pendingApproval({ agent_id: agent, ...limits(100, 2) }));
      expect(await s.createPendingApproval(pendingApproval({ agent_id: 'c', ...limits(100, 2) })))
        .toEqual({ created: false, rejected: 'too_many_pending', limit: 'total', max: 2 });
      expect(await s.countApprovals('pending')).toBe(2);
    });
  });
}
