/**
 * PostgresStore under concurrency, as a fleet produces it: several stores (each its own pool,
 * as each replica has) on one schema, racing. A single_use grant is used exactly once; votes
 * cast at once through different stores are all kept (optimistic versions, re-read on
 * conflict); two deliverers never lease the same outbox row and a lease that runs out hands the
 * row to the other; an audit batch is one statement, in order, all or nothing; retention runs
 * on one replica at a time.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { auditRow, outboxEntry, pendingApproval } from '../../../../test/helpers/records.js';
import { testPg } from '../../../../test/helpers/pg.js';
import { tcpProxy } from '../../../../test/helpers/tcp-proxy.js';
import { approveTransition, create, T } from '../../../../test/helpers/store-contract-kit.js';
import { castVote } from '../../workflow.js';
import type { ApprovalRecord } from '../records.js';
import { PostgresStore } from './postgres-store.js';

const db = await testPg();
const open: PostgresStore[] = [];
afterAll(async () => { await Promise.all(open.map((s) => s.close())); });

/** `n` stores (replicas) on one new schema. */
async function replicas(n: number, label: string): Promise<PostgresStore[]> {
  const schema = db.schema(label);
  // These tests are about what the race decides, not how fast: on a loaded machine (the full
  // suite on two cores) 120 creations queued on 5 connections wait longer than the default 5 s
  // for a connection, and that timeout, not the cap, failed the test.
  const out = await Promise.all(Array.from({ length: n }, () =>
    PostgresStore.open({ url: db.url, schema, poolMax: 5, connectTimeoutMs: 60_000, statementTimeoutMs: 30_000 })));
  open.push(...out);
  return out;
}

describe('PostgresStore: a fleet racing on one database', () => {
  it('uses a single_use grant exactly once: 20 retries at once over 4 replicas', async () => {
    const stores = await replicas(4, 'grant');
    const { approval } = await create(stores[0]!, pendingApproval({ now: T }));
    const r = await stores[1]!.transitionApproval(approveTransition(approval, 'alice', T + 1));
    expect(r.ok).toBe(true);
    const uses = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 4]!.consumeGrant(approval.approval_id, T + 2)));
    expect(uses.filter((u) => u.ok)).toHaveLength(1);
    expect(uses.filter((u) => !u.ok).every((u) => !u.ok && u.reason === 'used')).toBe(true);
    expect((await stores[3]!.getApproval(approval.approval_id))?.grant_used_at).toBe(T + 2);
  });

  it('allows one retry of 20 over 4 replicas through useLatestApproval (lookup and use in one statement)', async () => {
    const stores = await replicas(4, 'latest');
    const { approval } = await create(stores[0]!, pendingApproval({ now: T, fingerprint: 'retried' }));
    expect((await stores[1]!.transitionApproval(approveTransition(approval, 'alice', T + 1))).ok).toBe(true);
    const uses = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 4]!.useLatestApproval('retried', T + 2)));
    expect(uses.filter((u) => u.grant?.ok)).toHaveLength(1);
    expect(uses.every((u) => u.grant?.ok || (u.grant && !u.grant.ok && u.grant.reason === 'used'))).toBe(true);
  });

  it('loses no vote: five approvers voting at once through five replicas all count', async () => {
    const stores = await replicas(5, 'votes');
    const wf = { steps: [{ approvers: ['finance-manager'], required: 5, timeout_hours: 1 }] };
    const { approval } = await create(stores[0]!, pendingApproval({ workflow: wf, now: T }));
    let conflicts = 0;
    /** What ApprovalService does: read, compute with the workflow, write at the version read; on conflict re-read. */
    const vote = async (s: PostgresStore, approver: string): Promise<ApprovalRecord> => {
      for (;;) {
        const cur = (await s.getApproval(approval.approval_id))!;
        const out = castVote(cur.workflow, cur, { approver, groups: ['finance-manager'], vote: 'approve' }, T + 10);
        if (!out.ok) throw new Error(out.message);
        const { votes: _v, ...next } = out.state;
        const decided = next.state === 'approved';
        const r = await s.transitionApproval({
          approval_id: cur.approval_id, expected_version: cur.version, next, vote: out.vote, now: T + 10, outbox: [],
          ...(decided ? { action_status: 'approved' as const, grant_expires_at: T + 10 + 600_000 } : {}),
        });
        if (r.ok) return r.approval;
        expect(r.error).toBe('conflict');
        conflicts++;
      }
    };
    await Promise.all(stores.map((s, i) => vote(s, `approver-${i}`)));
    const final = (await stores[0]!.getApproval(approval.approval_id))!;
    expect(final.votes.map((v) => v.approver).sort()).toEqual(['approver-0', 'approver-1', 'approver-2', 'approver-3', 'approver-4']);
    expect([final.state, final.version]).toEqual(['approved', 6]);
    expect(conflicts).toBeGreaterThan(0); // they did race
  });

  it('leases each outbox row to one deliverer (SKIP LOCKED); a lease that runs out goes to the other', async () => {
    const [a, b] = await replicas(2, 'outbox');
    await a!.enqueueOutbox(Array.from({ length: 40 }, () => outboxEntry({ created_at: T })));
    const rounds = await Promise.all([0, 1, 2, 3].map((i) => (i % 2 ? b! : a!).claimOutbox(T, 10, 30_000)));
    const ids = rounds.flat().map((r) => r.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40); // nobody got a row twice
    expect(await b!.claimOutbox(T + 29_999, 10, 30_000)).toEqual([]); // all leased
    // a dies holding its rows: after the lease, b takes them over, with the same event ids.
    const aRows = [...rounds[0]!, ...rounds[2]!];
    const taken = await b!.claimOutbox(T + 30_000, 100, 30_000);
    expect(taken.map((r) => r.id).sort((x, y) => x - y)).toEqual(ids.slice().sort((x, y) => x - y));
    const byId = new Map(taken.map((r) => [r.id, r]));
    expect(aRows.every((r) => byId.get(r.id)?.event_id === r.event_id && byId.get(r.id)?.attempts === 2)).toBe(true);
  });

  it('writes an audit batch as one ordered statement, all or nothing', async () => {
    const [s] = await replicas(1, 'audit');
    const rows = Array.from({ length: 1000 }, (_, i) => auditRow({ ts: T + i }));
    await s!.appendAudit(rows);
    const page = await s!.queryAudit({ limit: 1000 });
    expect(page.items.map((r) => r.ts)).toEqual(rows.map((r) => r.ts).reverse());
    expect(page.items[0]!.id).toBe(1000);
    const bad = [auditRow({ ts: T }), { ...auditRow(), adapter: null as unknown as string }];
    await expect(s!.appendAudit(bad)).rejects.toThrow(/null value/);
    expect(await s!.countAudit({})).toBe(1000);
  });

  it('runs retention on one replica at a time: a purge while another holds the lock deletes nothing', async () => {
    const [a, b] = await replicas(2, 'retention');
    await a!.appendAudit([auditRow({ ts: T }), auditRow({ ts: T + 10 })]);
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ascend:${a!.schema}:retention`]);
      expect(await b!.purgeAudit(T + 5)).toBe(0); // skipped at once, not waiting
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    expect(await b!.purgeAudit(T + 5)).toBe(1);
    expect(await a!.countAudit({})).toBe(1);
  });

  it('creates one approval for one fingerprint and never overshoots a cap, over 4 replicas', async () => {
    const stores = await replicas(4, 'caps');
    const same = await Promise.all(stores.map((s) => create(s, pendingApproval({ fingerprint: 'same-action' }))));
    expect(same.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(same.map((r) => r.approval.approval_id)).size).toBe(1);
    const limits = { per_agent: 5, total: 1000 };
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => stores[i % 4]!.createPendingApproval(pendingApproval({ agent_id: 'greedy', limits }))));
    expect(results.filter((r) => r.created)).toHaveLength(5);
    expect(results.filter((r) => 'rejected' in r)).toHaveLength(11);
  });

  it('never overshoots the total cap when creations of many agents run at once (shared, then exclusive near the cap)', async () => {
    const stores = await replicas(4, 'total');
    // 70 ≥ the 64 slots, so the first creations count in shared mode and those near the cap move to exclusive.
    const limits = { per_agent: 100, total: 70 };
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => stores[i % 4]!.createPendingApproval(pendingApproval({ agent_id: `agent-${i}`, limits }))));
    expect(results.filter((r) => r.created)).toHaveLength(70);
    expect(results.filter((r) => 'rejected' in r && r.limit === 'total')).toHaveLength(50);
    expect(await stores[0]!.countApprovals('pending')).toBe(70);
  });

  it('fails a transaction whose connection is reset while it holds it, and the process lives on', async () => {
    // node-postgres emits 'error' on a checked-out client whose connection fails; with no
    // listener that ended the sidecar (seen in test/store-postgres-faults.test.ts).
    const u = new URL(db.url);
    const proxy = await tcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
    try {
      u.host = `127.0.0.1:${proxy.port}`;
      const schema = db.schema('reset');
      const s = await PostgresStore.open({ url: u.toString(), schema, poolMax: 1 });
      open.push(s);
      await s.loadAgentState(); // a transaction (REPEATABLE READ): leaves one idle connection
      proxy.mode('blackhole');
      const held = s.loadAgentState(); // takes that connection; its BEGIN gets no answer
      await new Promise((r) => setTimeout(r, 100));
      proxy.mode('refuse'); // reset while the transaction holds the connection
      await expect(held).rejects.toThrow();
      proxy.mode('forward');
      expect((await s.loadAgentState()).agents).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it("keeps answering when another replica's migration adds columns under its prepared statements", async () => {
    const [s] = await replicas(1, 'addcol'); // one pool...
    const one = await PostgresStore.open({ url: db.url, schema: s!.schema, poolMax: 1 }); // ...and a store on one connection
    open.push(one);
    const { approval } = await create(one, pendingApproval({ now: T, fingerprint: 'fp-addcol' }));
    const approved = await one.transitionApproval(approveTransition(approval, 'alice', T + 1));
    expect(approved.ok).toBe(true);
    await one.getAction(approval.action_id);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`ALTER TABLE ${s!.schema}.approvals ADD COLUMN newer TEXT; ALTER TABLE ${s!.schema}.actions ADD COLUMN newer TEXT;
        ALTER TABLE ${s!.schema}.votes ADD COLUMN newer TEXT`);
    } finally {
      await c.end();
    }
    expect((await one.getAction(approval.action_id))?.action_id).toBe(approval.action_id);
    expect((await one.getApproval(approval.approval_id))?.state).toBe('approved');
    expect((await one.useLatestApproval('fp-addcol', T + 2)).grant?.ok).toBe(true);
    const next = await create(one, pendingApproval({ now: T + 3, fingerprint: 'fp-addcol-2' }));
    expect((await one.transitionApproval(approveTransition(next.approval, 'bob', T + 4))).ok).toBe(true);
  });

  it('keeps its schema as search_path when the URL sets startup options of its own', async () => {
    const schema = db.schema('options');
    const u = new URL(db.url);
    u.searchParams.set('options', '-c work_mem=8MB');
    const s = await PostgresStore.open({ url: u.toString(), schema, poolMax: 1 });
    open.push(s);
    const { approval } = await create(s, pendingApproval({ now: T }));
    expect((await s.getApproval(approval.approval_id))?.approval_id).toBe(approval.approval_id);
    expect((await s.pool.query<{ w: string; p: string }>('SELECT current_setting($1) AS w, current_setting($2) AS p', ['work_mem', 'search_path'])).rows[0])
      .toEqual({ w: '8MB', p: schema });
  });
});

