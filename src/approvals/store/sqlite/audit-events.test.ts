/**
 * The audit trail holds events (agent.blocked, agent.unblocked) beside decisions: decision
 * queries (GET /api/audit, status lookups) see only decisions unless they ask for more, and
 * rows written before the columns existed read back as decisions.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { auditRow } from '../../../../test/helpers/records.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';

const dir = tempDir('ascend-audit-events-');
const T = 1_700_000_000_000;
const open: SqliteStore[] = [];
afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });

const blocked = auditRow({
  ts: T + 1, event_type: 'agent.blocked', actor: 'ops', action_id: 'cmd_1', adapter: 'api', agent_id: 'rogue',
  action_type: 'agent.kill_switch', resource: 'agent/rogue', decision: 'denied', policy_id: null, risk_score: null,
  cache_hit: false, latency_us: 0, reason: 'exfiltration', details: { command_id: 'cmd_1', reason: 'exfiltration' },
});

describe('SqliteStore: audit events beside decisions', () => {
  it('keeps decision queries to decisions; event_type selects events, * selects all', async () => {
    const s = new SqliteStore({ path: join(dir, 'a.db') });
    open.push(s);
    const decision = auditRow({ ts: T, agent_id: 'rogue' });
    await s.appendAudit([decision, blocked]);
    expect((await s.queryAudit({ limit: 10 })).items).toEqual([{ ...decision, id: 1 }]);
    expect((await s.queryAudit({ limit: 10, agent_id: 'rogue' })).items.map((r) => r.id)).toEqual([1]);
    expect((await s.queryAudit({ limit: 10, event_type: 'agent.blocked' })).items).toEqual([{ ...blocked, id: 2 }]);
    expect((await s.queryAudit({ limit: 10, event_type: '*' })).items.map((r) => r.event_type)).toEqual(['agent.blocked', 'decision']);
  });

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
