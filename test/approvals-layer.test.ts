/**
 * The layer as the sidecar will wire it: one factory, real SQLite, real webhook receiver.
 * A require_approval decision → signed action.pending webhook → vote → action.approved webhook →
 * the retry is allowed once.
 */
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalsLayer } from '../src/approvals/layer.js';
import { singleStepWorkflow } from '../src/approvals/workflow.js';
import { resolved } from './helpers/approvals.js';
import { registryValue } from './helpers/metrics.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { auditRow } from './helpers/records.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const dir = tempDir('ascend-layer-');
let receiver: Receiver;
beforeAll(async () => { receiver = await startReceiver('layer-secret'); });
afterAll(() => receiver.close());

describe('createApprovalsLayer', () => {
  it('runs the approval round trip end to end and shuts down cleanly', async () => {
    const registry = new Registry();
    const layer = createApprovalsLayer({
      store: { path: join(dir, 'data', 'ascend.db') },
      approvals: { grant: 'single_use' },
      webhooks: [{ url: `${receiver.url}/hooks`, events: ['action.pending', 'action.approved'], secret: 'layer-secret' }],
    }, { registry });
    await layer.start();
    const request = {
      agent_id: 'billing-agent', action_type: 'payment.create', resource: 'stripe:charges', parameters: { amount: 5000 },
      workflow: singleStepWorkflow(['finance-manager'], 24),
    };
    const pending = await resolved(layer.approvals.requestApproval(request));
    expect(pending.decision).toBe('pending');
    await waitFor(() => receiver.received.length === 1, { what: 'action.pending webhook' });

    await layer.approvals.vote({ approval_id: pending.approval_id, approver: 'fred', groups: ['finance-manager'], vote: 'approve' });
    await waitFor(() => receiver.received.length === 2, { what: 'action.approved webhook' });
    expect(receiver.received.map((r) => [JSON.parse(r.body).event, r.verified.ok])).toEqual([['action.pending', true], ['action.approved', true]]);

    expect(await layer.approvals.requestApproval(request)).toMatchObject({ decision: 'allowed', approval_id: pending.approval_id });
    expect(await layer.approvals.requestApproval(request)).toMatchObject({ decision: 'pending', created: true });

    layer.audit.push(auditRow({ action_id: pending.action_id, decision: 'pending' }));
    await waitFor(async () => (await registryValue(registry, 'ascend_webhook_deliveries_total', { result: 'delivered' })) === 3, { what: 'third delivery' });
    expect(await registryValue(registry, 'ascend_approvals_pending')).toBe(1);
    expect(await registryValue(registry, 'ascend_approvals_total', { result: 'approved' })).toBe(1);
    await layer.stop(); // flushes the audit row before closing

    const reopened = createApprovalsLayer({ store: { path: join(dir, 'data', 'ascend.db') } });
    expect((await reopened.store.queryAudit({ limit: 10 })).items.map((r) => r.action_id)).toEqual([pending.action_id]);
    await reopened.stop();
  });
});
