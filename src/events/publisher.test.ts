import { describe, expect, it } from 'vitest';
import type { NewOutboxEntry } from '../approvals/store/records.js';
import { EventPublisher } from './publisher.js';

const subs = [
  { url: 'http://a/hooks', events: ['action.pending', 'action.approved'] as const, secret: 'a' },
  { url: 'http://b/hooks', events: ['*'] as const, secret: 'b' },
  { url: 'http://a/hooks', events: ['action.pending'] as const, secret: 'dup' },
];

describe('EventPublisher', () => {
  const pub = new EventPublisher({ subscriptions: () => subs, now: () => 1_700_000_000_000, newEventId: () => 'evt_x' });

  it('fans one event out to each subscribed url with one id and one body', () => {
    const rows = pub.entries('action.pending', { action_id: 'act_1' });
    expect(rows.map((r) => r.url)).toEqual(['http://a/hooks', 'http://b/hooks']);
    expect(new Set(rows.map((r) => r.payload)).size).toBe(1);
    expect(JSON.parse(rows[0]!.payload)).toEqual({
      id: 'evt_x', event: 'action.pending', created_at: '2023-11-14T22:13:20.000Z', data: { action_id: 'act_1' },
    });
    expect(rows[0]).toMatchObject({ event_id: 'evt_x', event: 'action.pending', created_at: 1_700_000_000_000 });
  });

  it('honours event lists and the * wildcard', () => {
    expect(pub.entries('policy.reloaded', {}).map((r) => r.url)).toEqual(['http://b/hooks']);
    expect(new EventPublisher({ subscriptions: () => [] }).entries('action.denied', {})).toEqual([]);
  });

  it('sends an agent-scoped subscription its agent\'s events and events about no agent', () => {
    const scoped = new EventPublisher({
      subscriptions: () => [{ url: 'http://mine/hooks', events: ['*'] as const, secret: 'm', agent_id: 'billing-agent' }, ...subs],
      newEventId: () => 'evt_y',
    });
    expect(scoped.entries('action.pending', { agent_id: 'billing-agent' }).map((r) => r.url)).toEqual(['http://mine/hooks', 'http://a/hooks', 'http://b/hooks']);
    expect(scoped.entries('action.pending', { agent_id: 'other-agent' }).map((r) => r.url)).toEqual(['http://a/hooks', 'http://b/hooks']);
    expect(scoped.entries('policy.reloaded', { version: 2 }).map((r) => r.url)).toEqual(['http://mine/hooks', 'http://b/hooks']);
  });

  it('publish enqueues and tells the worker', async () => {
    const queued: NewOutboxEntry[] = [];
    let told = 0;
    const p = new EventPublisher({
      subscriptions: () => subs, store: { enqueueOutbox: async (rows) => { queued.push(...rows); } }, onEnqueued: () => { told++; },
    });
    expect(await p.publish('alert.triggered', { agent_id: 'x' })).toBe(1);
    expect(await p.publish('alert.triggered', {}).then(() => p.publish('action.completed', {}))).toBe(1);
    expect([queued.length, told]).toEqual([3, 3]);
    expect(queued[0]!.event_id).toMatch(/^evt_[0-9a-f-]{36}$/);
  });
});
