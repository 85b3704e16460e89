/**
 * The ttl-grant memo on a real PostgreSQL, with two replicas in one process (each its own store,
 * pool, LISTEN connection, memo and ApprovalService, as two pods have): a retry of a ttl grant
 * in use answers from A's memo without a store call, and a change through B — the approval
 * revoked (written as a revocation would be: a transition of the approved approval), a new
 * approval for the fingerprint, a kill switch — drops A's entry on the notification, within
 * 1 s. The memo's own one-second bound is lifted here (a year), so only the notification can
 * drop the entry; the grant's expiry ends it on time by itself. Each replica counts its memo's
 * lookups in `ascend_grant_memo_total{outcome}` and its size in `ascend_grant_memo_entries` on a
 * registry of its own. The test's own looks at a memo (`peek`) are not counted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { approvalSettings } from '../src/approvals/config.js';
import { GrantMemo } from '../src/approvals/grant-memo.js';
import { ApprovalService } from '../src/approvals/service.js';
import { PostgresStore } from '../src/approvals/store/postgres/postgres-store.js';
import type { Store } from '../src/approvals/store/store.js';
import { EventPublisher } from '../src/events/publisher.js';
import { blockRecord, commandRecord, killSwitchEffects } from './helpers/agent-records.js';
import { payment, resolved } from './helpers/approvals.js';
import { testPg } from './helpers/pg.js';
import { registryValue } from './helpers/metrics.js';
import { pendingApproval } from './helpers/records.js';
import { waitFor } from './helpers/wait.js';

const db = await testPg();
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

const TTL_S = 3600;

interface Replica {
  readonly store: PostgresStore;
  readonly memo: GrantMemo;
  readonly service: ApprovalService;
  /** useLatestApproval calls that reached the store. */
  lookups(): number;
  /** ascend_grant_memo_total{outcome} now. */
  memoCount(outcome: 'hit' | 'miss'): Promise<number>;
  /** ascend_grant_memo_entries now. */
  memoEntries(): Promise<number>;
  /** The replica's clock (real time plus a test-driven offset). */
  skip(ms: number): void;
}

async function replica(schema: string, grant: 'ttl' | 'single_use' = 'ttl'): Promise<Replica> {
  const store = await PostgresStore.open({ url: db.url, schema, poolMax: 4 });
  let lookups = 0;
  const counted = new Proxy(store as Store, {
    get(target, prop, receiver) {
      if (prop === 'useLatestApproval') return (fp: string, now: number) => { lookups++; return target.useLatestApproval(fp, now); };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const registry = new Registry();
  const memo = new GrantMemo(store.fleet, { maxAgeMs: 365 * 86_400_000, registry });
  const unsubscribe = memo.start();
  store.fleet.start();
  let offset = 0;
  const now = () => Date.now() + offset;
  const service = new ApprovalService({
    store: counted, events: new EventPublisher({ subscriptions: () => [] }), settings: approvalSettings(grant === 'ttl' ? { grant, ttl_seconds: TTL_S } : { grant }), now, grants: memo,
  });
  const memoCount = async (outcome: 'hit' | 'miss') => (await registryValue(registry, 'ascend_grant_memo_total', { outcome })) ?? NaN;
  const memoEntries = async () => (await registryValue(registry, 'ascend_grant_memo_entries')) ?? NaN;
  cleanup.push(async () => { unsubscribe(); await store.close(); });
  await waitFor(() => store.fleet.live, { what: 'the LISTEN connection' });
  return { store, memo, service, lookups: () => lookups, memoCount, memoEntries, skip: (ms) => { offset += ms; } };
}

let n = 0;
/** Replicas A and B on a new schema, and a ttl grant kept by A (see keptByA). */
async function approvedTtl() {
  const schema = db.schema(`memo${++n}`);
  const [a, b] = [await replica(schema), await replica(schema)];
  return { a, b, ...await keptByA(a, b, `stripe:charges/${n}`) };
}

/** An action pending through A, approved through B, retried through A (the grant's use recorded) until A keeps it. */
async function keptByA(a: Replica, b: Replica, resource: string, fingerprint?: string) {
  const req = { ...payment, resource, workflow: { steps: [{ approvers: ['finance-manager'], required: 1, timeout_hours: 1 }] }, ...(fingerprint ? { fingerprint } : {}) };
  const first = await resolved(a.service.requestApproval(req));
  expect(first.decision).toBe('pending');
  expect((await b.service.vote({ approval_id: first.approval_id, approver: 'fred', groups: ['finance-manager'], vote: 'approve' })).ok).toBe(true);
  expect((await a.service.requestApproval(req)).decision).toBe('allowed'); // the use, recorded in the store
  // Kept by a retry whose read no notification overtook (B's approval notifies A too).
  await waitFor(async () => (await a.service.requestApproval(req)).decision === 'allowed' && a.memo.peek(first.approval.fingerprint, Date.now()) !== undefined, { what: 'A keeps the grant' });
  return { req, approval: first.approval };
}

/** Resolves once A no longer answers from its memo, with how long that took. */
async function dropped(a: Replica, fingerprint: string, since: number): Promise<number> {
  await waitFor(() => a.memo.peek(fingerprint, Date.now()) === undefined, { what: 'A drops its kept grant', timeoutMs: 5000, everyMs: 2 });
  return performance.now() - since;
}

describe('the ttl-grant memo across two replicas on PostgreSQL', () => {
  it('answers the retries of a ttl grant in use without a store call; B reads the shared grant', async () => {
    const { a, b, req } = await approvedTtl();
    const before = a.lookups();
    for (let i = 0; i < 50; i++) expect((await a.service.requestApproval(req)).decision).toBe('allowed');
    expect(a.lookups() - before).toBe(0);
    expect((await b.service.requestApproval(req)).decision).toBe('allowed'); // the shared grant, from B's store read
  });

  it('counts the retries answered from the memo as hits, and those that asked the store as misses', async () => {
    const schema = db.schema('memo-count');
    const [a, b] = [await replica(schema), await replica(schema)];
    expect([await a.memoCount('hit'), await a.memoCount('miss')]).toEqual([0, 0]);
    const { req } = await keptByA(a, b, 'stripe:charges/counted');
    expect([await a.memoEntries(), await b.memoEntries()]).toEqual([1, 0]);
    // Every request that asked the store is a miss. Whether keptByA's retries include a hit
    // depends on timing: when B's approval NOTIFY reaches A before A's first retry reads, that
    // retry already keeps the grant and keptByA's probe is a hit (seen once in a loaded full
    // run); when it arrives during the read, the read is not kept and the probe is a miss.
    expect(await a.memoCount('miss')).toBe(a.lookups());
    const [hits, misses, lookups] = [await a.memoCount('hit'), await a.memoCount('miss'), a.lookups()];
    for (let i = 0; i < 20; i++) expect((await a.service.requestApproval(req)).decision).toBe('allowed');
    expect(await a.memoCount('hit') - hits).toBe(20);
    expect(await a.memoCount('miss') - misses).toBe(a.lookups() - lookups); // 0: no store call
    expect(a.lookups() - lookups).toBe(0);
    // B never kept it: its retry of the shared grant is a miss, answered by its store.
    expect((await b.service.requestApproval(req)).decision).toBe('allowed');
    expect([await b.memoCount('hit'), await b.memoCount('miss')]).toEqual([0, b.lookups()]);
  });

  it('never keeps a single_use grant: of retries over both replicas, one is allowed', async () => {
    const schema = db.schema('memo-single');
    const [a, b] = [await replica(schema, 'single_use'), await replica(schema, 'single_use')];
    const req = { ...payment, resource: 'stripe:charges/single', workflow: { steps: [{ approvers: ['finance-manager'], required: 1, timeout_hours: 1 }] } };
    const first = await resolved(a.service.requestApproval(req));
    expect((await b.service.vote({ approval_id: first.approval_id, approver: 'fred', groups: ['finance-manager'], vote: 'approve' })).ok).toBe(true);
    const retries = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).service.requestApproval(req)));
    expect(retries.filter((x) => x.decision === 'allowed')).toHaveLength(1);
    expect([a.memo.size, b.memo.size]).toEqual([0, 0]);
  });

  it('drops the grant when B revokes the approval (a transition of it): A answers from the store again at once', async () => {
    const { a, b, req, approval } = await approvedTtl();
    expect(a.memo.peek(approval.fingerprint, Date.now())).toBeDefined();
    const cur = (await b.store.getApproval(approval.approval_id))!;
    const revokedAt = performance.now();
    const t = await b.store.transitionApproval({
      approval_id: cur.approval_id, expected_version: cur.version, outbox: [], now: Date.now(), action_status: 'denied',
      next: { state: 'denied', current_step: cur.current_step, escalated: cur.escalated, deadline_at: null, decided_at: Date.now(), reason: 'revoked' },
    });
    expect(t.ok).toBe(true);
    expect(await dropped(a, approval.fingerprint, revokedAt)).toBeLessThan(1000);
    expect((await a.service.requestApproval(req)).decision).toBe('denied');
  });

  it('drops the grant when a newer approval for the fingerprint appears through B', async () => {
    const { a, b, req, approval } = await approvedTtl();
    const newer = pendingApproval({ fingerprint: approval.fingerprint, now: Date.now() + 1 });
    const createdAt = performance.now();
    expect(await b.store.createPendingApproval(newer)).toMatchObject({ created: true });
    expect(await dropped(a, approval.fingerprint, createdAt)).toBeLessThan(1000);
    expect(await a.service.requestApproval(req)).toMatchObject({ decision: 'pending', approval_id: newer.approval.approval_id });
  });

  it('drops only that fingerprint\'s grant on a new approval for it, also for a caller\'s own key with a \'|\' in it', async () => {
    const { a, b, approval: other } = await approvedTtl();
    const { approval } = await keptByA(a, b, 'stripe:charges/keyed', 'tenant-7|order-42');
    const createdAt = performance.now();
    expect(await b.store.createPendingApproval(pendingApproval({ fingerprint: 'tenant-7|order-42', now: Date.now() + 1 }))).toMatchObject({ created: true });
    expect(await dropped(a, approval.fingerprint, createdAt)).toBeLessThan(1000);
    expect(a.memo.peek(other.fingerprint, Date.now())).toBeDefined(); // the other fingerprint's grant stays
  });

  it('drops every grant on a kill switch set through B', async () => {
    const { a, b, approval } = await approvedTtl();
    const block = blockRecord({ agent_id: payment.agent_id });
    const setAt = performance.now();
    await b.store.blockAgent(block, killSwitchEffects(commandRecord({ agent_id: payment.agent_id, command_id: block.command_id })));
    expect(await dropped(a, approval.fingerprint, setAt)).toBeLessThan(1000);
  });

  it('ends with the grant: at its expiry A answers from the store (a new pending approval), not from the memo', async () => {
    const { a, req, approval } = await approvedTtl();
    const kept = a.memo.peek(approval.fingerprint, Date.now())!;
    expect(kept.grant_expires_at).not.toBeNull();
    a.skip(kept.grant_expires_at! - Date.now()); // A's clock at the expiry
    const before = a.lookups();
    const after = await a.service.requestApproval(req);
    expect(after.decision).toBe('pending');
    expect(a.lookups() - before).toBe(1);
  });

  it('serves and keeps nothing while the notifications are down: every retry reads the store', async () => {
    const { a, req, approval } = await approvedTtl();
    await a.store.fleet.stop();
    expect(a.memo.peek(approval.fingerprint, Date.now())).toBeUndefined();
    const before = a.lookups();
    expect((await a.service.requestApproval(req)).decision).toBe('allowed');
    expect((await a.service.requestApproval(req)).decision).toBe('allowed');
    expect(a.lookups() - before).toBe(2);
    expect(a.memo.size).toBe(0);
  });
});
