import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registryValue } from '../../test/helpers/metrics.js';
import { pendingApproval } from '../../test/helpers/records.js';
import { GrantMemo, MAX_AGE_MS, MAX_ENTRIES, type GrantFeed } from './grant-memo.js';
import type { ApprovalRecord } from './store/records.js';

const T = 1_700_000_000_000;

/** A feed the test drives: notifications by hand, `live` by hand. */
function feed(): GrantFeed & { live: boolean; emit(kind: string, id?: string): void } {
  const subs = new Set<(e: { kind: string; id: string }) => void>();
  return {
    live: true,
    subscribe(fn) { subs.add(fn); return () => { subs.delete(fn); }; },
    emit(kind, id = '') { for (const fn of subs) fn({ kind, id }); },
  };
}

/** An approved grant as the store answers its use at T. */
function granted(over: Partial<ApprovalRecord> = {}): ApprovalRecord {
  const { approval } = pendingApproval({ grant: 'ttl', now: T - 10_000 });
  return { ...approval, state: 'approved', decided_at: T - 5000, grant_expires_at: T + 60_000, grant_used_at: T - 4000, version: 3, ...over };
}

function memo() {
  const f = feed();
  const m = new GrantMemo(f);
  const stop = m.start();
  /** keep() as the service calls it: a ticket taken before the read, kept after. */
  const fill = (a: ApprovalRecord, now = T) => m.keep(a.fingerprint, a, m.ticket(), now);
  return { f, m, stop, fill };
}

describe('GrantMemo', () => {
  it('keeps a used ttl grant: served until its expires_at (the store rule: now < expires_at), never after', () => {
    const { m, fill } = memo();
    const a = granted({ grant_expires_at: T + 500 });
    fill(a);
    expect(m.get(a.fingerprint, T + 1)).toBe(a);
    expect(m.get(a.fingerprint, T + 499)).toBe(a);
    expect(m.get(a.fingerprint, T + 500)).toBeUndefined();
    expect(m.size).toBe(0);
  });

  it('serves an entry at most MAX_AGE_MS after the read that filled it', () => {
    const { m, fill } = memo();
    const a = granted();
    fill(a);
    expect(m.get(a.fingerprint, T + MAX_AGE_MS - 1)).toBe(a);
    expect(m.get(a.fingerprint, T + MAX_AGE_MS)).toBeUndefined();
  });

  it('never keeps a single_use grant, a ttl grant whose use the store has not recorded, or an approval not approved', () => {
    const { m, fill } = memo();
    fill(granted({ grant: 'single_use' }));
    fill(granted({ grant_used_at: null }));
    fill(granted({ state: 'denied' }));
    fill(granted({ grant_expires_at: T })); // already expired when read
    expect(m.size).toBe(0);
  });

  it('serves and keeps nothing while notifications are not arriving', () => {
    const { f, m, fill } = memo();
    const a = granted();
    fill(a);
    f.live = false;
    expect(m.get(a.fingerprint, T + 1)).toBeUndefined();
    fill(a);
    expect(m.size).toBe(0);
    const ticket = m.ticket(); // taken while down: never fills, even once the feed is back
    f.live = true;
    m.keep(a.fingerprint, a, ticket, T);
    expect(m.size).toBe(0);
  });

  it('does not keep a read that a notification overtook (it may predate the change)', () => {
    const { f, m } = memo();
    const a = granted();
    const ticket = m.ticket();
    f.emit('action', 'act_some-other');
    m.keep(a.fingerprint, a, ticket, T);
    expect(m.size).toBe(0);
  });

  it('drops on the fleet: its action changed, a new approval for its fingerprint, any agents change; each with no id drops all', () => {
    const { f, m, fill } = memo();
    const a = granted();
    const b = granted();
    const refill = () => { fill(a); fill(b); expect(m.size).toBe(2); };
    refill();
    f.emit('action', 'act_unrelated');
    f.emit('webhooks');
    f.emit('ab_tests');
    expect(m.size).toBe(2);
    f.emit('action', a.action_id);
    expect([m.get(a.fingerprint, T), m.get(b.fingerprint, T)]).toEqual([undefined, b]);
    refill();
    f.emit('deadline', b.fingerprint);
    expect([m.get(a.fingerprint, T), m.get(b.fingerprint, T)]).toEqual([a, undefined]);
    refill();
    f.emit('agents');
    expect(m.size).toBe(0);
    for (const kind of ['action', 'deadline']) {
      refill();
      f.emit(kind, '');
      expect(m.size).toBe(0);
    }
  });

  it('hears nothing once stopped; drops this process\'s own writes by hand', () => {
    const { f, m, stop, fill } = memo();
    const a = granted();
    fill(a);
    stop();
    f.emit('agents');
    expect(m.size).toBe(1);
    m.forgetAction(a.action_id);
    expect(m.size).toBe(0);
    fill(a);
    m.forgetFingerprint(a.fingerprint);
    expect(m.size).toBe(0);
  });

  it('keeps at most maxEntries fingerprints, dropping the oldest', () => {
    const f = feed();
    const m = new GrantMemo(f, { maxEntries: 2 });
    const [a, b, c] = [granted(), granted(), granted()];
    for (const x of [a, b, c]) m.keep(x.fingerprint, x, m.ticket(), T);
    expect([a, b, c].map((x) => m.get(x.fingerprint, T))).toEqual([undefined, b, c]);
  });
});

describe('GrantMemo metrics', () => {
  function counted(opts: { maxEntries?: number } = {}) {
    const f = feed();
    const registry = new Registry();
    const m = new GrantMemo(f, { ...opts, registry });
    m.start();
    const fill = (a: ApprovalRecord) => m.keep(a.fingerprint, a, m.ticket(), T);
    const count = async () => Promise.all([
      registryValue(registry, 'ascend_grant_memo_total', { outcome: 'hit' }),
      registryValue(registry, 'ascend_grant_memo_total', { outcome: 'miss' }),
    ]);
    const entries = async () => registryValue(registry, 'ascend_grant_memo_entries');
    return { f, m, fill, count, entries };
  }

  it('counts each get as a hit or a miss in ascend_grant_memo_total; peek is not counted', async () => {
    const { m, fill, count } = counted();
    const a = granted();
    expect(await count()).toEqual([0, 0]);
    expect(m.get(a.fingerprint, T)).toBeUndefined();
    fill(a);
    expect(m.get(a.fingerprint, T)).toBe(a);
    expect(m.get(a.fingerprint, T + 1)).toBe(a);
    expect(m.get(a.fingerprint, T + MAX_AGE_MS)).toBeUndefined(); // aged out: a miss
    expect(m.peek(a.fingerprint, T)).toBeUndefined();
    expect(await count()).toEqual([2, 2]);
  });

  it('shows the fingerprints held in ascend_grant_memo_entries: fills, drops on invalidation', async () => {
    const { f, m, fill, entries } = counted();
    const [a, b, c] = [granted(), granted(), granted()];
    expect(await entries()).toBe(0);
    for (const x of [a, b, c]) fill(x);
    expect(await entries()).toBe(3);
    fill(a); // kept again: still one entry for its fingerprint
    expect(await entries()).toBe(3);
    f.emit('action', a.action_id);
    expect(await entries()).toBe(2);
    m.forgetFingerprint(b.fingerprint);
    expect(await entries()).toBe(1);
    f.emit('agents');
    expect(await entries()).toBe(0);
  });

  it('never shows more entries than the bound (MAX_ENTRIES by default)', async () => {
    expect(MAX_ENTRIES).toBe(10_000);
    const { fill, entries } = counted({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) {
      fill(granted());
      expect(await entries()).toBe(Math.min(i + 1, 3));
    }
  });
});
