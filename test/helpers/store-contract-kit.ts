/** What the store contract's parts share: the store opener, a fixed time, record helpers. */
import { castVote } from '../../src/approvals/workflow.js';
import type { ApprovalRecord } from '../../src/approvals/store/records.js';
import type { ApprovalTransition, NewPendingApproval, Store } from '../../src/approvals/store/store.js';

export interface StoreContext {
  /** A store on a new file under the test's temp dir (or on `path`), closed after each test. */
  newStore(path?: string): Promise<Store>;
  /** Opens without tracking (for stores a test expects to fail to open). */
  openStore(path: string): Promise<Store>;
  readonly dir: string;
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

