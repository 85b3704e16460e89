/**
 * Separation of duties over the REST API, real sidecar and SQLite file: the API key that
 * requested an action cannot vote on its approval — not even an admin key holding the approver
 * group — while another approver can; `approvals.separation_of_duties: false` turns it off.
 */
import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { call, keyDigest } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { tempDir } from './helpers/tmp.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const dir = tempDir('ascend-sod-');
const BOSS = 'k-boss-admin-with-groups';
const FRED = 'k-fred-approver';

function config(d: string, extra = ''): string {
  return `store: {path: ${JSON.stringify(join(d, 'ascend.db'))}}
api_keys:
  - {name: boss, role: admin, groups: [finance-manager], sha256: "${keyDigest(BOSS)}"}
  - {name: fred, role: approver, groups: [finance-manager], sha256: "${keyDigest(FRED)}"}
${extra}
${CORE}`;
}

const apps: TestApp[] = [];
afterAll(async () => { for (const a of apps) await a.close(); });
async function start(name: string, extra = ''): Promise<TestApp> {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const t = await startApp(config(d, extra), { dir: d });
  apps.push(t);
  return t;
}
const refund = (id: string) => ({ agent_id: 'billing-agent', action_type: 'payments.refund', resource: `refund/${id}`, parameters: { amount: 5000 } });

describe('approvals.separation_of_duties (default on)', () => {
  it('an admin key with the approver group cannot approve or deny what it requested; another approver can', async () => {
    const t = await start('on');
    const api = (method: string, path: string, key: string, body?: unknown) => call(t.url(''), method, path, key, body);
    const pending = await api('POST', '/api/authorization/agent-action', BOSS, refund('r-sod'));
    expect(pending.body).toMatchObject({ decision: 'pending', approval_id: expect.stringMatching(/^apr_/) });
    const id = pending.body.approval_id as string;

    for (const vote of ['approve', 'deny']) {
      const self = await api('POST', `/api/approvals/${id}/${vote}`, BOSS, { comment: 'my own' });
      expect(self.status).toBe(403);
      expect(self.body.error).toMatchObject({ code: 'self_approval', message: expect.stringContaining('boss requested this action') });
    }
    expect((await api('GET', `/api/sdk/approval/${id}`, BOSS)).body).toMatchObject({ status: 'pending', votes: [] });

    const other = await api('POST', `/api/approvals/${id}/approve`, FRED, { comment: 'ok' });
    expect(other.status).toBe(200);
    expect(other.body).toMatchObject({ status: 'approved', votes: [{ approver: 'fred', vote: 'approve' }] });

    // The action record says who requested it (a column of its own, migration 3).
    const db = new Database(join(dir, 'on', 'ascend.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT requested_by FROM actions WHERE action_id = ?').get(pending.body.action_id)).toEqual({ requested_by: 'boss' });
    } finally {
      db.close();
    }
  });
});

describe('approvals.separation_of_duties: false', () => {
  it('lets the requesting key vote', async () => {
    const t = await start('off', 'approvals: {separation_of_duties: false}');
    const pending = await call(t.url(''), 'POST', '/api/authorization/agent-action', BOSS, refund('r-off'));
    const self = await call(t.url(''), 'POST', `/api/approvals/${pending.body.approval_id}/approve`, BOSS, {});
    expect(self.status).toBe(200);
    expect(self.body.status).toBe('approved');
  });
});
