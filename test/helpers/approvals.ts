/** A real approval stack on a real SQLite file, with a hand-driven clock. */
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { approvalSettings, type ApprovalsConfig } from '../../src/approvals/config.js';
import { registerApprovalMetrics } from '../../src/approvals/metrics.js';
import { ApprovalService, type ApprovalRequest, type ApprovalResolution } from '../../src/approvals/service.js';
import { SqliteStore } from '../../src/approvals/store/sqlite/sqlite-store.js';
import { EventPublisher } from '../../src/events/publisher.js';
import type { WebhookEnvelope } from '../../src/events/types.js';

export const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
export const HOUR = 3_600_000;

export function approvalStack(dir: string, name: string, config: Partial<ApprovalsConfig> = {}, clock?: () => number) {
  const store = new SqliteStore({ path: join(dir, `${name}.db`) });
  let t = T0;
  const now = clock ?? (() => t);
  const registry = new Registry();
  const metrics = registerApprovalMetrics(registry, () => store.countApprovals('pending'));
  const events = new EventPublisher({ subscriptions: () => [{ url: 'http://127.0.0.1:1/hooks', events: ['*'], secret: 's' }], now });
  let deadlineNotices = 0;
  let listener = () => {};
  const seen = new Set<number>();
  const service = new ApprovalService({
    store, events, settings: approvalSettings(config), now, metrics, onDeadlineChanged: () => { deadlineNotices++; listener(); },
  });
  return {
    store, service, registry,
    /** service.requestApproval for tests far from the caps (too_many_pending fails the test). */
    request: (req: ApprovalRequest) => resolved(service.requestApproval(req)),
    set: (ms: number) => { t = ms; },
    advance: (ms: number) => { t += ms; },
    deadlineNotices: () => deadlineNotices,
    /** Forward deadline notices (e.g. to ApprovalScheduler.notify). */
    onDeadline: (fn: () => void) => { listener = fn; },
    /** Events enqueued since the last call, in order (read through a zero-length lease). */
    events: async () => {
      const rows = (await store.claimOutbox(Number.MAX_SAFE_INTEGER, 10_000, 0)).filter((r) => !seen.has(r.id));
      for (const r of rows) seen.add(r.id);
      return rows.map((r) => JSON.parse(r.payload) as WebhookEnvelope<Record<string, unknown>>);
    },
  };
}

export const payment = {
  agent_id: 'billing-agent', action_type: 'payment.create', resource: 'stripe:charges',
  parameters: { amount: 5000, currency: 'usd' }, context: { environment: 'prod', request_id: 'r1' },
  policy_id: 'big-payments', risk_score: 72, reason: 'amount over 1000',
};

/** A resolution that is not too_many_pending (it has an approval id), or the test fails. */
export async function resolved(p: Promise<ApprovalResolution>): Promise<Exclude<ApprovalResolution, { decision: 'too_many_pending' }>> {
  const r = await p;
  if (r.decision === 'too_many_pending') throw new Error(`unexpected too_many_pending: ${r.reason}`);
  return r;
}
