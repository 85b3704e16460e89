/**
 * Audit rows SQLite wrote before the event columns existed read back as decisions (the store
 * contract, test/helpers/store-contract-agents.ts, covers events beside decisions).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';

const dir = tempDir('ascend-audit-events-');
const T = 1_700_000_000_000;
const open: SqliteStore[] = [];
afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });

describe('SqliteStore: audit events beside decisions', () => {
  it('reads rows written before the event columns existed as decisions', async () => {
    const path = join(dir, 'v3.db');
    const db = new Database(path);
    migrate(db, MIGRATIONS.slice(0, 3));
    db.prepare(`INSERT INTO audit (ts, action_id, request_id, adapter, agent_id, action_type, resource, decision,
      policy_id, risk_score, cache_hit, latency_us, reason) VALUES (?, 'act_old', NULL, 'envoy', 'a', 't', 'r', 'allowed',
      NULL, 5, 0, 90, NULL)`).run(T);
    db.close();
    const s = new SqliteStore({ path });
    open.push(s);
    expect((await s.queryAudit({ limit: 10 })).items).toEqual([expect.objectContaining({
      action_id: 'act_old', event_type: 'decision', actor: null, details: null,
    })]);
  });
});
