/**
 * One conformance suite for every store: the same tests against SQLite (SqliteStore in the
 * calling thread, WorkerStore in a worker thread — every argument and record through the
 * structured clone) and PostgreSQL (PostgresStore on a real server, a schema per database).
 * `toEqual` on records read back means they crossed unchanged.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/approvals/store/sqlite/migrations.js';
import { PG_MIGRATIONS } from '../../src/approvals/store/postgres/migrations.js';
import { PostgresStore } from '../../src/approvals/store/postgres/postgres-store.js';
import type { Store } from '../../src/approvals/store/store.js';
import { abTestsContract } from './store-contract-ab-tests.js';
import { agentsContract } from './store-contract-agents.js';
import { approvalsContract } from './store-contract-approvals.js';
import type { StoreBackend, StoreContext } from './store-contract-kit.js';
import { sessionsContract } from './store-contract-sessions.js';
import { stateContract } from './store-contract-state.js';
import { testPg } from './pg.js';
import { tempDir } from './tmp.js';

/** Registers the contract's tests for one backend. */
export function describeContract(name: string, backend: StoreBackend): void {
  let n = 0;
  const open: Store[] = [];
  const ctx: StoreContext = {
    backend,
    openStore: (place) => backend.open(place),
    async newStore(place = `db${++n}`) {
      const s = await backend.open(place);
      open.push(s);
      return s;
    },
  };
  afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });
  approvalsContract(name, ctx);
  stateContract(name, ctx);
  agentsContract(name, ctx);
  sessionsContract(name, ctx);
  abTestsContract(name, ctx);
}

/** The contract for a SQLite store opened by `openStore` (a file path; parents are created), and SQLite's own checks. */
export function describeStoreContract(name: string, openStore: (path: string) => Promise<Store>): void {
  const dir = tempDir('ascend-store-');
  const file = (place: string) => join(dir, place, 'nested', 'ascend.db');
  const withDb = <T>(place: string, fn: (db: Database.Database) => T): T => {
    const db = new Database(file(place));
    try { return fn(db); } finally { db.close(); }
  };
  describeContract(name, {
    migrations: MIGRATIONS,
    open: (place) => openStore(file(place)),
    applied: async (place) => withDb(place, (db) => db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[]),
    recordMigration: async (place, version, label) => withDb(place, (db) => { db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(version, label); }),
  });

  describe(`${name}: the SQLite file`, () => {
    it('creates directories and enables WAL', async () => {
      const path = join(dir, 'fresh', 'a', 'b', 'ascend.db');
      await (await openStore(path)).close();
      const db = new Database(path, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      db.close();
    });

    it("counts an agent's pending approvals through the partial index", async () => {
      await (await openStore(file('plan'))).close();
      const plan = withDb('plan', (db) => db.prepare(`EXPLAIN QUERY PLAN SELECT COUNT(*) FROM actions a JOIN approvals p ON p.approval_id = a.approval_id
        WHERE a.agent_id = ? AND a.status = 'pending' AND p.state = 'pending'`).all('a') as { detail: string }[]);
      expect(plan.map((r) => r.detail).join('\n')).toMatch(/USING (COVERING )?INDEX actions_pending_by_agent/);
    });
  });
}

/** The contract for PostgresStore on the test server (test/helpers/pg.ts): each place is a schema of its own. */
export async function describePgStoreContract(name: string): Promise<void> {
  const db = await testPg();
  const schemas = new Map<string, string>();
  const schemaOf = (place: string) => {
    let s = schemas.get(place);
    if (!s) schemas.set(place, (s = db.schema(place)));
    return s;
  };
  const withClient = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try { return await fn(c); } finally { await c.end(); }
  };
  describeContract(name, {
    migrations: PG_MIGRATIONS,
    open: (place) => PostgresStore.open({ url: db.url, schema: schemaOf(place), poolMax: 4 }),
    applied: (place) => withClient(async (c) => (await c.query(`SELECT version, name FROM ${schemaOf(place)}.schema_migrations ORDER BY version`)).rows),
    recordMigration: (place, version, label) => withClient(async (c) => {
      await c.query(`INSERT INTO ${schemaOf(place)}.schema_migrations VALUES ($1, $2, 0)`, [version, label]);
    }),
  });

  describe(`${name}: the PostgreSQL schema`, () => {
    it("counts an agent's pending approvals through the partial index", async () => {
      const schema = schemaOf('plan');
      await (await PostgresStore.open({ url: db.url, schema })).close();
      const plan = await withClient(async (c) => {
        await c.query(`SET search_path TO ${schema}; SET enable_seqscan = off`);
        return (await c.query(`EXPLAIN SELECT COUNT(*) FROM actions a JOIN approvals p ON p.approval_id = a.approval_id
          WHERE a.agent_id = 'a' AND a.status = 'pending' AND p.state = 'pending'`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(/actions_pending_by_agent/);
    });

    it('refuses a schema name that is not a plain SQL name, naming it', async () => {
      await expect(PostgresStore.open({ url: db.url, schema: 'x; DROP TABLE y' })).rejects.toThrow(/schema "x; DROP TABLE y"/);
    });
  });
}
