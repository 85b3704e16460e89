import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { pendingApproval } from '../../../../test/helpers/records.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { describeStoreContract } from '../../../../test/helpers/store-contract.js';
import { migrate, MIGRATIONS } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';

describeStoreContract('SqliteStore', async (path) => new SqliteStore({ path }));

describe('SqliteStore: migrating an older file', () => {
  const dir = tempDir('ascend-store-migrate-');

  it('migrates a version-6 file in place: its actions read back with requested_by null', async () => {
    const path = join(dir, 'v6.db');
    const old = pendingApproval({ id: 'v6' });
    // What version 6 wrote: its schema, and an action stored then.
    const db = new Database(path);
    migrate(db, MIGRATIONS.slice(0, 6));
    const { requested_by: _none, ...v6action } = old.action;
    db.prepare(`INSERT INTO actions (action_id, fingerprint, agent_id, action_type, resource, parameters, context, binding,
      decision, policy_id, risk_score, reason, approval_id, status, created_at, updated_at, completion_status,
      completion_result, completed_at) VALUES (:action_id, :fingerprint, :agent_id, :action_type, :resource, :parameters,
      :context, :binding, :decision, :policy_id, :risk_score, :reason, :approval_id, :status, :created_at, :updated_at,
      :completion_status, :completion_result, :completed_at)`).run({ ...v6action, parameters: '{}', context: '{}', binding: JSON.stringify(v6action.binding) });
    db.close();
    const s = new SqliteStore({ path });
    try {
      expect(await s.getAction(old.action.action_id)).toMatchObject({ action_id: old.action.action_id, requested_by: null });
      const mine = pendingApproval({ id: 'v7' });
      await s.createPendingApproval({ ...mine, action: { ...mine.action, requested_by: 'ops' } });
      expect((await s.getAction(mine.action.action_id))?.requested_by).toBe('ops');
    } finally {
      await s.close();
    }
  });
});
