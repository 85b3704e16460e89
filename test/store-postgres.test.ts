/**
 * `store: {driver: postgres}` from the config to the database: the config names a missing or
 * misplaced url; the url may come from ASCEND_STORE_URL or a {file}; `ascend-sidecar migrate`
 * migrates once, reports the versions and refuses a newer schema; and the real CLI serving on
 * a real PostgreSQL keeps a pending action there — approved over REST, the gateway's retry is
 * allowed once, and a restarted sidecar finds it all.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PG_MIGRATIONS } from '../src/approvals/store/postgres/migrations.js';
import { afterAll, describe, expect, it } from 'vitest';
import { writeConfig } from './helpers/app.js';
import { API_KEYS_YAML, call, KEYS } from './helpers/api.js';
import { configIssues } from './helpers/config.js';
import { AuthzClient, decisionOf, header } from './helpers/grpc-client.js';
import { testPg } from './helpers/pg.js';
import { runCli, spawnSidecar, type Sidecar } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const db = await testPg();
const dir = tempDir('ascend-pg-cli-');
const cleanup: (() => unknown)[] = [];
afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env, timeoutMs: 60_000 });

async function sql<T extends pg.QueryResultRow>(text: string, args: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try { return (await c.query<T>(text, args)).rows; } finally { await c.end(); }
}

const pgStore = (schema: string, url = '{env: TEST_PG_URL}') => `store: {driver: postgres, url: ${url}, schema: ${schema}, pool_max: 4}\n${API_KEYS_YAML}\n${CORE}`;

describe('config: store.driver postgres', () => {
  const withEnv = <T>(vars: Record<string, string | undefined>, fn: () => T): T => {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    Object.assign(process.env, vars);
    for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k];
    try { return fn(); } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  };

  it('needs a url from store.url or ASCEND_STORE_URL, and names the field', () => {
    const text = `store: {driver: postgres}\n${CORE}`;
    withEnv({ ASCEND_STORE_URL: undefined }, () => {
      expect(configIssues(text).join('\n')).toMatch(/store\.url.*driver postgres needs a connection URL.*ASCEND_STORE_URL/);
    });
    withEnv({ ASCEND_STORE_URL: 'postgres://u:p@db:5432/ascend' }, () => expect(configIssues(text)).toEqual([]));
  });

  it('refuses a url that is not postgres:// without echoing it, and a url on the SQLite driver', () => {
    const issues = withEnv({ ASCEND_STORE_URL: 'mysql://root:hunter2@db/x' }, () => configIssues(`store: {driver: postgres}\n${CORE}`));
    expect(issues.join('\n')).toMatch(/store\.url.*must be a postgres:\/\/ or postgresql:\/\/ URL \(from ASCEND_STORE_URL\)/);
    expect(issues.join('\n')).not.toContain('hunter2');
    expect(configIssues(`store: {path: ./x.db, url: "postgres://db/x"}\n${CORE}`).join('\n')).toMatch(/store\.url.*is for driver: postgres/);
    expect(configIssues(`store: {driver: postgres, url: "postgres://db/x", schema: "Bad-Name"}\n${CORE}`).join('\n')).toMatch(/store\.schema/);
  });

  it('reads the url from {file: PATH} and {env: NAME}', () => {
    const file = join(dir, 'pg-url');
    writeFileSync(file, 'postgresql://svc@db.internal/ascend\n');
    expect(configIssues(`store: {driver: postgres, url: {file: ${JSON.stringify(file)}}}\n${CORE}`)).toEqual([]);
    expect(withEnv({ NO_SUCH_PG: undefined }, () => configIssues(`store: {driver: postgres, url: {env: NO_SUCH_PG}}\n${CORE}`)).join('\n'))
      .toMatch(/store\.url\.env.*NO_SUCH_PG is not set/);
  });
});

describe('ascend-sidecar migrate', () => {
  it('migrates a new schema once, then finds it up to date; refuses a newer one with exit 1', async () => {
    const schema = db.schema('migrate');
    const { path } = writeConfig(pgStore(schema), dir);
    const env = { TEST_PG_URL: db.url };
    const newest = PG_MIGRATIONS.length;
    expect(await cli(['migrate', '--config', path], env)).toMatchObject({ code: 0, stdout: `postgres schema "${schema}": version 0 → ${newest}\n` });
    expect(await cli(['migrate', '--config', path], env)).toMatchObject({ code: 0, stdout: `postgres schema "${schema}": version ${newest} → ${newest} (up to date)\n` });
    await sql(`INSERT INTO ${schema}.schema_migrations VALUES (${newest + 1}, 'from a newer build', 0)`);
    const refused = await cli(['migrate', '--config', path], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`schema "\\w+" is version ${newest + 1}, this build knows up to ${newest}: upgrade ascend-sidecar`));
    expect(refused.stderr).not.toMatch(/^\s+at /m);
  }, 90_000);

  it('takes the url from ASCEND_STORE_URL; an unreachable server is exit 1 with the reason', async () => {
    const schema = db.schema('env');
    const { path } = writeConfig(`store: {driver: postgres, schema: ${schema}}\n${CORE}`, dir);
    expect((await cli(['migrate', '--config', path], { ASCEND_STORE_URL: db.url })).code).toBe(0);
    const down = await cli(['migrate', '--config', path], { ASCEND_STORE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot connect to PostgreSQL/);
  }, 60_000);

  it('migrates a SQLite file too', async () => {
    const file = join(dir, 'm', 'ascend.db');
    const { path } = writeConfig(`store: {path: ${JSON.stringify(file)}}\n${CORE}`, dir);
    expect((await cli(['migrate', '--config', path])).stdout).toMatch(/^sqlite .*ascend\.db: version 0 → \d+\n$/);
  }, 60_000);
});

describe('serve on PostgreSQL', () => {
  const refund = { method: 'POST', path: '/v1/refunds/r-pg1?amount=4200', headers: { 'x-agent-id': 'billing-agent' } };

  async function start(path: string): Promise<{ s: Sidecar; c: AuthzClient }> {
    const s = await spawnSidecar(path, ['--no-watch'], { TEST_PG_URL: db.url });
    const c = new AuthzClient(s.grpcPort);
    cleanup.push(() => c.close(), () => s.stop('SIGKILL'));
    return { s, c };
  }

  it('keeps the pending action in PostgreSQL: approved over REST, allowed once, found again after a restart', async () => {
    const schema = db.schema('serve');
    const { path } = writeConfig(pgStore(schema), dir);
    const one = await start(path);
    const first = await one.c.check(refund);
    expect(decisionOf(first)).toBe('pending');
    const approvalId = header(first, 'x-ascend-approval-id')!;
    expect(await sql(`SELECT state FROM ${schema}.approvals WHERE approval_id = $1`, [approvalId])).toEqual([{ state: 'pending' }]);
    const api = (s: Sidecar, m: string, p: string, b?: unknown) => call(`http://127.0.0.1:${s.httpPort}`, m, p, KEYS.finance, b);
    expect((await api(one.s, 'POST', `/api/approvals/${approvalId}/approve`, { comment: 'ok' })).body.status).toBe('approved');
    expect(decisionOf(await one.c.check(refund))).toBe('allowed');
    expect(decisionOf(await one.c.check(refund))).not.toBe('allowed'); // single_use: used once
    expect(await one.s.stop('SIGTERM')).toBe(0);

    const two = await start(path);
    expect((await api(two.s, 'GET', `/api/sdk/approval/${approvalId}`)).body).toMatchObject({ status: 'approved' });
    expect(await sql(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)).toEqual(PG_MIGRATIONS.map((m) => ({ version: m.version })));
  }, 90_000);
});
