/** Approval metrics, registered on an injected registry (never at import time). */
import { Counter, Gauge, type Registry } from 'prom-client';
import { registerOutcomeCounter } from '../observability/outcome-counter.js';
import { registerStoreGauge } from '../observability/store-gauge.js';
import type { PendingLimitName } from './store/store.js';

/** Lookups of the ttl-grant memo (grant-memo.ts) by the retries of a `require_approval` check; the memo counts its own. */
export interface GrantMemoMetrics {
  /** hit: answered from the memo, no store call; miss: the store was asked. */
  lookup(outcome: 'hit' | 'miss'): void;
}

export interface ApprovalMetrics {
  decided(result: 'approved' | 'denied'): void;
  /** A new approval refused: the agent or the store was at its cap. */
  rejected(limit: PendingLimitName): void;
}

/**
 * Registers `ascend_approvals_pending` (read from the store at scrape time, so it is right after
 * a restart and for approvals decided by another process), `ascend_approvals_total{result}` and
 * `ascend_approvals_rejected_total{reason, limit}`.
 */
export function registerApprovalMetrics(registry: Registry, countPending: () => Promise<number>): ApprovalMetrics {
  registerStoreGauge(registry, 'ascend_approvals_pending', 'Approvals waiting for a decision.', countPending);
  const decided = registerOutcomeCounter(registry, 'ascend_approvals_total',
    'Approvals decided, by result (approved, denied), whether by approvers or by timeout.', 'result', ['approved', 'denied'] as const);
  const rejected = new Counter({
    name: 'ascend_approvals_rejected_total',
    help: 'Approvals not created, by reason (too_many_pending) and the cap reached (limit: per_agent, total); each was answered 429',
    labelNames: ['reason', 'limit'] as const,
    registers: [registry],
  });
  for (const limit of ['per_agent', 'total'] as const) rejected.inc({ reason: 'too_many_pending', limit }, 0);
  return {
    decided,
    rejected: (limit) => rejected.inc({ reason: 'too_many_pending', limit }),
  };
}

/**
 * Registers `ascend_grant_memo_total{outcome}` and `ascend_grant_memo_entries` (read from
 * `entries` at scrape time): a replica with a fleet store (PostgreSQL) only, the one that keeps
 * ttl grants in use (docs/fleet.md "Grants kept per replica"). GrantMemo registers them itself.
 */
export function registerGrantMemoMetrics(registry: Registry, entries: () => number): GrantMemoMetrics {
  const lookup = registerOutcomeCounter(registry, 'ascend_grant_memo_total',
    'Approval lookups of the per-replica ttl grant memo, by outcome: hit (answered from the memo, no store call), miss (the store was asked).',
    'outcome', ['hit', 'miss'] as const);
  new Gauge({
    name: 'ascend_grant_memo_entries',
    help: 'Fingerprints whose ttl grant the per-replica grant memo holds (at most 10,000 a process).',
    registers: [registry],
    collect() { this.set(entries()); },
  });
  return { lookup };
}
