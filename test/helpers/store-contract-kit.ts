/** What the store contract's parts share: the store opener, a fixed time, record helpers. */
import { castVote } from '../../src/approvals/workflow.js';
import type { ApprovalRecord } from '../../src/approvals/store/records.js';
import type { ApprovalTransition, NewPendingApproval, Store } from '../../src/approvals/store/store.js';

/** What differs between the stores the contract runs against (SQLite files, PostgreSQL schemas). */
export interface StoreBackend {
  /** The store's migrations, oldest first. */
  readonly migrations: readonly { readonly version: number; readonly name: string }[];
  /** Opens a store on the database at `place` (a SQLite file, a PostgreSQL schema); the same place, the same data. */
  open(place: string): Promise<Store>;
  /** The migrations the database at `place` has recorded, oldest first. */
  applied(place: string): Promise<{ version: number; name: string }[]>;
  /** Records a migration a newer build would have applied. */
  recordMigration(place: string, version: number, name: string): Promise<void>;
}

export interface StoreContext {
  /** A store on a new database (or on `place`, shared with other stores opened there), closed after each test. */
  newStore(place?: string): Promise<Store>;
  /** Opens without tracking (for stores a test expects to fail to open). */
  openStore(place: string): Promise<Store>;
  readonly backend: StoreBackend;
}

export const T = 1_700_000_000_000;

/** createPendingApproval far from the caps: created or existing, never rejected. */
export async function create(s: Store, input: NewPendingApproval) {
  const r = await s.createPendingApproval(input);
  if ('rejected' in r) throw new Error(`unexpected ${r.rejected} (${r.limit})`);
  return r;
}

export function approveTransition(a: ApprovalRecord, approver: string, now: number, over: Partial<ApprovalTransition> = {}): ApprovalTransition {
  const out = castVote(a.workflow, a, { approver, groups: ['finance-manager'], vote: 'approve' }, now);
  if (!out.ok) throw new Error(out.message);
  const { votes: _votes, ...next } = out.state;
  return {
    approval_id: a.approval_id, expected_version: a.version, next, vote: out.vote,
    grant_expires_at: now + a.grant_ttl_seconds * 1000, action_status: 'approved', outbox: [], now, ...over,
  };
}
