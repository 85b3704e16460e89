/** The store contract, part 2: grants and completion, the audit trail, the webhook outbox. */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/approvals/store/store.js';
import { auditRow, outboxEntry, pendingApproval } from './records.js';
import { approveTransition, create, T, type StoreContext } from './store-contract-kit.js';

export function stateContract(name: string, { newStore }: StoreContext): void {
  describe(`${name}: grants and completion`, () => {
    async function approved(s: Store, grant: 'single_use' | 'ttl') {
      const { approval } = await create(s, pendingApproval({ now: T, grant, grant_ttl_seconds: 60 }));
      const r = await s.transitionApproval(approveTransition(approval, 'alice', T + 1));
      if (!r.ok) throw new Error(r.error);
      return r.approval;
    }

    it('single_use: consumed once, atomically', async () => {
      const s = await newStore();
      const a = await approved(s, 'single_use');
      const uses = await Promise.all([s.consumeGrant(a.approval_id, T + 2), s.consumeGrant(a.approval_id, T + 2)]);
      expect(uses.map((u) => u.ok)).toEqual([true, false]);
      expect(uses[1]).toEqual({ ok: false, reason: 'used' });
      expect((await s.getApproval(a.approval_id))?.grant_used_at).toBe(T + 2);
    });

    it('ttl: reusable until expiry, then expired and the action marked expired', async () => {
      const s = await newStore();
      const a = await approved(s, 'ttl');
      expect((await s.consumeGrant(a.approval_id, T + 2)).ok).toBe(true);
      expect((await s.consumeGrant(a.approval_id, T + 60_000)).ok).toBe(true);
      expect(await s.consumeGrant(a.approval_id, T + 60_001)).toEqual({ ok: false, reason: 'expired' });
      expect((await s.getAction(a.action_id))?.status).toBe('expired');
      expect((await s.getApproval(a.approval_id))?.grant_used_at).toBe(T + 2); // first use
    });

    it('refuses grants of pending or unknown approvals', async () => {
      const s = await newStore();
      const { approval } = await create(s, pendingApproval());
      expect(await s.consumeGrant(approval.approval_id, T)).toEqual({ ok: false, reason: 'not_approved' });
      expect(await s.consumeGrant('nope', T)).toEqual({ ok: false, reason: 'not_found' });
    });

    it('useLatestApproval: the latest approval by fingerprint, and its grant used in the same call', async () => {
      const s = await newStore();
      expect(await s.useLatestApproval('fp-none', T)).toEqual({});
      const { approval } = await create(s, pendingApproval({ now: T, fingerprint: 'fp-1' }));
      expect(await s.useLatestApproval('fp-1', T)).toEqual({ latest: approval });
      const a = (await s.transitionApproval(approveTransition(approval, 'alice', T + 1)));
      if (!a.ok) throw new Error(a.error);
      const [first, second] = await Promise.all([s.useLatestApproval('fp-1', T + 2), s.useLatestApproval('fp-1', T + 2)]);
      expect([first!.grant?.ok, second!.grant?.ok].sort()).toEqual([false, true]);
      const won = first!.grant?.ok ? first! : second!;
      expect(won.latest).toEqual(a.approval);
      expect(won.grant).toEqual({ ok: true, approval: { ...a.approval, grant_used_at: T + 2, version: a.approval.version + 1 } });
      expect(await s.getApproval(approval.approval_id)).toEqual({ ...a.approval, grant_used_at: T + 2, version: a.approval.version + 1 });
      expect((await s.useLatestApproval('fp-1', T + 3)).grant).toEqual({ ok: false, reason: 'used' });
    });

    it('useLatestApproval: a ttl grant reused until expiry, then expired with its action', async () => {
      const s = await newStore();
      const a = await approved(s, 'ttl');
      const fp = a.fingerprint;
      expect((await s.useLatestApproval(fp, T + 2)).grant).toMatchObject({ ok: true, approval: { grant_used_at: T + 2 } });
      expect((await s.useLatestApproval(fp, T + 60_000)).grant).toMatchObject({ ok: true, approval: { grant_used_at: T + 2 } });
      const late = await s.useLatestApproval(fp, T + 60_001);
      expect(late).toMatchObject({ latest: { approval_id: a.approval_id, state: 'approved' }, grant: { ok: false, reason: 'expired' } });
      expect((await s.getAction(a.action_id))?.status).toBe('expired');
    });

    it('completes an approved action once and enqueues action.completed with it', async () => {
      const s = await newStore();
      const pending = await create(s, pendingApproval());
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

  describe(`${name}: audit`, () => {
    it('appends a batch, filters, pages newest first and purges by age', async () => {
      const s = await newStore();
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

  describe(`${name}: outbox`, () => {
    it('leases due rows, counts attempts, and re-offers a row whose lease ran out', async () => {
      const s = await newStore();
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
      const s = await newStore();
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

    it("lists an action's deliveries, oldest first, with their state", async () => {
      const s = await newStore();
      await s.enqueueOutbox([
        outboxEntry({ action_id: 'act_1', event: 'action.pending', created_at: T }),
        outboxEntry({ action_id: 'act_2', created_at: T }),
        outboxEntry({ action_id: null, event: 'policy.reloaded', created_at: T }),
        outboxEntry({ action_id: 'act_1', event: 'action.approved', url: 'http://127.0.0.1:9/other', created_at: T + 1 }),
      ]);
      const [first, , , fourth] = await s.claimOutbox(T + 1, 10, 1000);
      await s.markDelivered(first!.id, T + 2);
      await s.markDead(fourth!.id, 'HTTP 410');
      const rows = await s.listOutboxForAction('act_1', 10);
      expect(rows.map((r) => [r.event, r.url, r.action_id, r.state, r.attempts, r.last_error, r.delivered_at])).toEqual([
        ['action.pending', 'http://127.0.0.1:9/hooks', 'act_1', 'delivered', 1, null, T + 2],
        ['action.approved', 'http://127.0.0.1:9/other', 'act_1', 'dead', 1, 'HTTP 410', null],
      ]);
      expect((await s.listOutboxForAction('act_1', 1)).map((r) => r.id)).toEqual([first!.id]);
      expect(await s.listOutboxForAction('act_none', 10)).toEqual([]);
      expect((await s.claimOutbox(T + 5000, 10, 1000)).find((r) => r.event === 'policy.reloaded')?.action_id).toBeNull();
    });

    it('rejects use after close', async () => {
      const s = await newStore();
      await s.close();
      await s.close();
      await expect(s.outboxDepth()).rejects.toMatchObject({ code: 'store_closed' });
    });
  });
}
