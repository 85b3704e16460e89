/**
 * Audit rows that are lost are counted in ascend_audit_dropped_total, read from /metrics of a
 * real sidecar: the store's audit buffer overflowing while a real SQLite file refuses inserts,
 * and the SIEM stream writing to a device that is always full (/dev/full: ENOSPC).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { rawRequest, sample } from './helpers/http.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const dir = tempDir('ascend-audit-drops-');

let t: TestApp;
beforeAll(async () => {
  const extra = 'audit_stream: {enabled: true, path: /dev/full}';
  t = await startApp(storeConfig(dir, CORE, extra).replace('store: {path: ', 'store: {audit_buffer_rows: 5, path: '), { dir });
});
afterAll(() => t.close());

const metrics = async () => (await fetch(t.url('/metrics'))).text();
const dropped = async (sink: string, reason: string) => sample(await metrics(), 'ascend_audit_dropped_total', { sink, reason });
const check = (i: number) => rawRequest(t.httpPort, { path: `/forward-auth/v1/orders/${i}`, headers: { host: 'api.example.com', 'x-agent-id': 'crawler' } });

describe('ascend_audit_dropped_total', () => {
  it('starts at 0 for every sink and reason', async () => {
    for (const [sink, reason] of [['store', 'buffer_full'], ['store', 'closed'], ['store', 'store_failed'], ['stream', 'write_failed']]) {
      expect(await dropped(sink!, reason!), `${sink} ${reason}`).toBe(0);
    }
  });

  it('counts rows the store buffer drops while the store fails, and writes the rest once it recovers', async () => {
    // A real store failure: every insert into the audit table aborts until the trigger goes.
    const ids: string[] = [];
    const db = new Database(join(dir, 'data', 'ascend.db'));
    db.exec(`CREATE TRIGGER audit_refused BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk quota exceeded (test)'); END`);
    try {
      for (let i = 0; i < 12; i++) {
        const res = await check(i);
        expect(res.status).toBe(200);
        ids.push(res.headers['x-ascend-action-id'] as string);
      }
      // 12 decisions, at most 5 kept while the store fails: the 7 oldest are gone — once a
      // flush that took rows out before the last decisions has failed and put them back.
      await waitFor(async () => ((await dropped('store', 'buffer_full')) === 7 ? true : undefined), { what: '7 rows dropped' });
      await waitFor(() => t.logs.some((l) => l.msg === 'audit flush failed; will retry'), { what: 'a failed flush' });
    } finally {
      db.exec('DROP TRIGGER audit_refused');
      db.close();
    }
    const rows = await waitFor(async () => {
      const items = (await call(t.url(''), 'GET', '/api/audit?limit=50', KEYS.admin)).body.items as { action_id: string }[];
      return items.length === 5 ? items : undefined;
    }, { what: 'the 5 kept rows in the store' });
    expect(rows.map((r) => r.action_id).sort()).toEqual(ids.slice(7).sort());
    expect(await dropped('store', 'buffer_full')).toBe(7);
  });

  it('counts SIEM lines its destination could not write', async () => {
    const before = (await dropped('stream', 'write_failed'))!;
    expect(before).toBeGreaterThanOrEqual(12); // every decision so far went to /dev/full
    for (let i = 0; i < 3; i++) await check(100 + i);
    expect(await dropped('stream', 'write_failed')).toBe(before + 3);
  });
});
