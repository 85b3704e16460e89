import { describe, expect, it } from 'vitest';
import type { WebhookRecord } from '../approvals/store/records.js';
import { SubscriptionSet } from './subscriptions.js';

const stored = (id: number, url: string, over: Partial<WebhookRecord> = {}): WebhookRecord => ({
  webhook_id: `wh_${id}`, url, events: ['policy.violation'], secret: `s${id}`, agent_id: null, format: 'ascend', created_by: 'ops', created_at: 0, updated_at: 0, ...over,
});

describe('SubscriptionSet', () => {
  it('merges the config with the store, maps event names, keeps the format and marks stored ones guarded', async () => {
    let rows = [stored(1, 'https://a/h', { agent_id: 'billing-agent', format: 'slack' })];
    const set = new SubscriptionSet({ store: { listWebhooks: async () => rows }, config: [{ url: 'https://cfg/h', events: ['*'], secret: 'c' }], pollMs: 1000 });
    expect(set.all().map((s) => s.url)).toEqual(['https://cfg/h']);
    await set.refresh();
    expect(set.all()).toEqual([
      { url: 'https://cfg/h', events: ['*'], secret: 'c' },
      { id: 'wh_1', url: 'https://a/h', events: ['alert.triggered'], secret: 's1', guarded: true, format: 'slack', agent_id: 'billing-agent' },
    ]);
    rows = [];
    await set.refresh();
    expect(set.all().map((s) => s.url)).toEqual(['https://cfg/h']);
  });

  it('lets a config url win over a stored one, warning once', async () => {
    const warnings: unknown[] = [];
    const log = { info() {}, error() {}, warn: (o: unknown) => { warnings.push(o); } };
    const set = new SubscriptionSet({ store: { listWebhooks: async () => [stored(1, 'https://a/h'), stored(2, 'https://b/h')] }, config: [], log, pollMs: 1000 });
    await set.refresh();
    set.setConfig([{ url: 'https://a/h', events: ['action.pending'], secret: 'cfg' }]);
    await set.refresh();
    expect(set.all().map((s) => [s.url, s.secret])).toEqual([['https://a/h', 'cfg'], ['https://b/h', 's2']]);
    expect(warnings).toEqual([{ webhook_id: 'wh_1' }]);
  });

  it('keeps the last list when the store cannot be read', async () => {
    let fail = false;
    const errors: unknown[] = [];
    const log = { info() {}, warn() {}, error: (o: unknown) => { errors.push(o); } };
    const set = new SubscriptionSet({ store: { listWebhooks: async () => { if (fail) throw new Error('closed'); return [stored(1, 'https://a/h')]; } }, config: [], log, pollMs: 1000 });
    await set.refresh();
    fail = true;
    await set.refresh();
    expect(set.all().map((s) => s.id)).toEqual(['wh_1']);
    expect(errors).toHaveLength(1);
  });
});
