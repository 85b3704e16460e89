import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import type { NewWebhook } from '../records.js';
import { SqliteStore } from './sqlite-store.js';

const dir = tempDir('ascend-webhooks-');
let n = 0;
const open: SqliteStore[] = [];
function newStore(path = join(dir, `w${++n}.db`)): SqliteStore {
  const s = new SqliteStore({ path });
  open.push(s);
  return s;
}
afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });

const T = 1_700_000_000_000;
const hook = (url: string, over: Partial<NewWebhook> = {}): NewWebhook => ({
  url, events: ['action.pending', 'policy.violation'], secret: 's3cret', agent_id: null, created_by: 'ops', created_at: T, ...over,
});

describe('SqliteStore: webhook subscriptions', () => {
  it('creates with sequential wh_ ids, lists oldest first and reads one back', async () => {
    const s = newStore();
    const a = await s.createWebhook(hook('https://a.example/h', { agent_id: 'billing-agent' }));
    const b = await s.createWebhook(hook('https://b.example/h'));
    expect(a).toEqual({ ok: true, webhook: { ...hook('https://a.example/h', { agent_id: 'billing-agent' }), webhook_id: 'wh_1', updated_at: T } });
    expect(b.ok && b.webhook.webhook_id).toBe('wh_2');
    expect((await s.listWebhooks()).map((w) => w.url)).toEqual(['https://a.example/h', 'https://b.example/h']);
    expect(await s.getWebhook('wh_2')).toMatchObject({ url: 'https://b.example/h', events: ['action.pending', 'policy.violation'] });
  });

  it('keeps urls unique on create and on update', async () => {
    const s = newStore();
    await s.createWebhook(hook('https://a.example/h'));
    await s.createWebhook(hook('https://b.example/h'));
    expect(await s.createWebhook(hook('https://a.example/h'))).toEqual({ ok: false, error: 'url_taken' });
    expect(await s.updateWebhook('wh_2', { url: 'https://a.example/h' }, T + 1)).toEqual({ ok: false, error: 'url_taken' });
    expect((await s.listWebhooks()).length).toBe(2);
  });

  it('updates only the fields given and stamps updated_at', async () => {
    const s = newStore();
    await s.createWebhook(hook('https://a.example/h'));
    const r = await s.updateWebhook('wh_1', { events: ['action.denied'] }, T + 5);
    expect(r).toEqual({ ok: true, webhook: expect.objectContaining({ url: 'https://a.example/h', events: ['action.denied'], secret: 's3cret', created_at: T, updated_at: T + 5 }) });
    const r2 = await s.updateWebhook('wh_1', { url: 'https://c.example/h', secret: 'new' }, T + 6);
    expect(r2.ok && [r2.webhook.url, r2.webhook.secret, r2.webhook.events]).toEqual(['https://c.example/h', 'new', ['action.denied']]);
  });

  it('deletes, never reuses an id, and answers not found for unknown or foreign ids', async () => {
    const path = join(dir, 'reuse.db');
    const s = newStore(path);
    await s.createWebhook(hook('https://a.example/h'));
    expect(await s.deleteWebhook('wh_1')).toBe(true);
    expect(await s.deleteWebhook('wh_1')).toBe(false);
    await s.close();
    const again = newStore(path);
    const c = await again.createWebhook(hook('https://a.example/h'));
    expect(c.ok && c.webhook.webhook_id).toBe('wh_2');
    for (const id of ['wh_1', 'wh_01', 'wh_x', '2', 'cfg_abc', `wh_${'9'.repeat(20)}`]) {
      expect(await again.getWebhook(id)).toBeUndefined();
      expect(await again.updateWebhook(id, { secret: 'x' }, T)).toEqual({ ok: false, error: 'not_found' });
      expect(await again.deleteWebhook(id)).toBe(false);
    }
  });
});
