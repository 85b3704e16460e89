/**
 * The connection pool of the PostgreSQL store (node-postgres) and the few helpers every table
 * module shares: a transaction that retries serialization failures and deadlocks, and row
 * normalisation to the shape the shared codecs (store/codec.ts) read.
 *
 * Every connection starts with the store's schema as its search_path and the configured
 * statement_timeout (startup parameters, so no round trip is spent on them), and BIGINT columns
 * (times in ms, ids, counts) come back as JS numbers: every value the store keeps is below 2^53.
 */
import pg from 'pg';
import type { Row } from '../codec.js';

export interface PgOptions {
  /** postgres://user:password@host:port/database?sslmode=… */
  readonly url: string;
  /** Connections at most (store.pool_max). */
  readonly poolMax?: number;
  /** Server-side cap on one statement (store.statement_timeout_ms). */
  readonly statementTimeoutMs?: number;
  /** The schema holding the tables (store.schema); created by the first migration. */
  readonly schema?: string;
  /** How long to wait for a connection to open before the call fails. Default 5000. */
  readonly connectTimeoutMs?: number;
  readonly applicationName?: string;
  readonly log?: import('../../../shared/runtime.js').Logger;
}

const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * The pool. Besides the server's statement_timeout, each query has a client-side timeout one
 * second longer (unless `untimed`, for migrations): a server that stops answering — a dropped
 * network, a blackholed address — fails the call instead of holding it, and the connection is
 * discarded.
 */
export function createPool(o: PgOptions & { readonly schema: string; readonly untimed?: boolean }): pg.Pool {
  const statementTimeout = o.statementTimeoutMs ?? 2000;
  const { url, options } = withSearchPath(o.url, o.schema);
  const pool = new pg.Pool({
    connectionString: url,
    max: o.poolMax ?? 10,
    statement_timeout: o.untimed ? 0 : statementTimeout,
    ...(o.untimed ? {} : { query_timeout: statementTimeout + 1000 }),
    keepAlive: true,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    application_name: o.applicationName ?? 'ascend-sidecar',
    options,
    types,
  });
  // An idle connection the server dropped: the pool discards it; the next query opens another.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * The startup `options` that set the schema as search_path, with those of the URL
 * (`?options=-c work_mem=8MB`) kept before them: node-postgres lets a URL's `options` replace the
 * configured ones, which would drop the search_path, so they are taken out of the URL.
 */
export function withSearchPath(url: string, schema: string): { url: string; options: string } {
  const own = `-c search_path=${schema}`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url, options: own }; // not a URL node-postgres reads as one either: left to it to refuse
  }
  const given = u.searchParams.get('options');
  if (given === null) return { url, options: own };
  u.searchParams.delete('options');
  return { url: u.toString(), options: `${given} ${own}` };
}

export type Q = Pick<pg.PoolClient, 'query'>;

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/** A serialization failure or a deadlock: the transaction may simply run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code !== undefined && RETRYABLE.has(code);
}

/**
 * A connection taken from the pool, with a listener for its 'error' event while it is out.
 * node-postgres emits 'error' on a client whose connection fails (a reset, the server gone) —
 * twice for one reset: the socket's error, then "Connection terminated unexpectedly" — and the
 * pool listens only while the client is idle in it; an 'error' with no listener would end the
 * process. The error is kept, so the client is released broken (discarded, never reused).
 */
export async function checkout(pool: pg.Pool): Promise<{ client: pg.PoolClient; release(err?: Error): void }> {
  const client = await pool.connect();
  let failed: Error | undefined;
  const onError = (err: Error) => { failed ??= err; };
  client.on('error', onError);
  return {
    client,
    release(err?: Error) {
      client.removeListener('error', onError);
      client.release(err ?? failed);
    },
  };
}

/** Runs `fn` in one transaction on one pooled connection; retries serialization failures and deadlocks. */
export async function tx<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { client: c, release } = await checkout(pool);
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: unknown) => { broken = e as Error; });
      if (attempt < attempts && isRetryable(err)) continue;
      throw err;
    } finally {
      release(broken);
    }
  }
}

/** Booleans as the 0/1 the shared codecs read (SQLite has no boolean type). */
export function norm(r: Row): Row {
  for (const k in r) if (typeof r[k] === 'boolean') r[k] = r[k] ? 1 : 0;
  return r;
}

/** INSERT of the named columns of `row`, in order. */
export function insertSql(table: string, cols: readonly string[], returning = ''): string {
  return `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})${returning ? ` RETURNING ${returning}` : ''}`;
}

export const values = (cols: readonly string[], row: Row): unknown[] => cols.map((c) => row[c] ?? null);

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

/** Where a store's transactions announce their changes (see fleet.ts). */
export interface NotifyTarget {
  readonly channel: string;
  readonly instanceId: string;
}

/** NOTIFY in the caller's transaction: delivered to the other replicas at commit, dropped on rollback. */
export async function notify(q: Q, n: NotifyTarget, ...events: readonly (readonly [string, string?])[]): Promise<void> {
  const args: string[] = [n.channel];
  const calls = events.map(([kind, id = '']) => { args.push(`${n.instanceId}|${kind}|${id}`); return `pg_notify($1, $${args.length})`; });
  await q.query(`SELECT ${calls.join(', ')}`, args);
}
