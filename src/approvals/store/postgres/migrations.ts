/**
 * Versioned schema migrations of the PostgreSQL store. Append a new entry for every change;
 * never edit an applied one. The history starts at the schema SQLite reached in its version 9
 * (sqlite/migrations.ts): the same tables and columns, with PostgreSQL types (BIGINT times in
 * ms, BOOLEAN flags, identity ids that are never reused). JSON columns stay TEXT so a record
 * reads back byte for byte as it was written, as in SQLite.
 *
 * `migrate` runs at start under a session advisory lock keyed by the schema, so replicas that
 * start together migrate once (the others wait, then find nothing to do); each migration commits
 * with its schema_migrations row, so a crash mid-migration leaves the previous version intact.
 */
import type { PoolClient } from 'pg';
import { StoreError } from '../errors.js';

export interface PgMigration {
  readonly version: number;
  readonly name: string;
  readonly up: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'actions, approvals, votes, audit, outbox, webhooks, agent registry and kill switch',
    up: `
      CREATE TABLE actions (
        action_id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        action_type TEXT NOT NULL,
        resource TEXT NOT NULL,
        parameters TEXT NOT NULL,
        context TEXT NOT NULL,
        binding TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('allowed', 'denied', 'pending')),
        policy_id TEXT,
        risk_score DOUBLE PRECISION,
        reason TEXT,
        approval_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'completed', 'expired')),
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        completion_status TEXT,
        completion_result TEXT,
        completed_at BIGINT,
        requested_by TEXT
      );
      CREATE INDEX actions_fingerprint ON actions (fingerprint, created_at);
      CREATE INDEX actions_by_agent ON actions (agent_id, created_at);
      CREATE INDEX actions_by_time ON actions (created_at);
      CREATE INDEX actions_pending_by_agent ON actions (agent_id) WHERE status = 'pending';

      CREATE TABLE approvals (
        approval_id TEXT PRIMARY KEY,
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        action_id TEXT NOT NULL REFERENCES actions (action_id),
        fingerprint TEXT NOT NULL,
        workflow TEXT NOT NULL,
        current_step INTEGER NOT NULL,
        escalated BOOLEAN NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
        requested_at BIGINT NOT NULL,
        decided_at BIGINT,
        deadline_at BIGINT,
        reason TEXT,
        grant_kind TEXT NOT NULL CHECK (grant_kind IN ('single_use', 'ttl')),
        grant_ttl_seconds INTEGER NOT NULL,
        grant_expires_at BIGINT,
        grant_used_at BIGINT,
        version INTEGER NOT NULL
      );
      -- The database, not only the code, guarantees one pending approval per fingerprint.
      CREATE UNIQUE INDEX approvals_one_pending ON approvals (fingerprint) WHERE state = 'pending';
      CREATE INDEX approvals_by_fingerprint ON approvals (fingerprint, requested_at);
      CREATE INDEX approvals_by_state ON approvals (state, requested_at, approval_id);
      CREATE INDEX approvals_due ON approvals (deadline_at) WHERE state = 'pending';

      CREATE TABLE votes (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        approval_id TEXT NOT NULL REFERENCES approvals (approval_id),
        step INTEGER NOT NULL,
        escalated BOOLEAN NOT NULL,
        approver TEXT NOT NULL,
        groups TEXT NOT NULL,
        vote TEXT NOT NULL CHECK (vote IN ('approve', 'deny')),
        comment TEXT,
        at BIGINT NOT NULL,
        UNIQUE (approval_id, approver)
      );

      CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ts BIGINT NOT NULL,
        action_id TEXT NOT NULL,
        request_id TEXT,
        adapter TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        action_type TEXT NOT NULL,
        resource TEXT NOT NULL,
        decision TEXT NOT NULL,
        policy_id TEXT,
        risk_score DOUBLE PRECISION,
        cache_hit BOOLEAN NOT NULL,
        latency_us BIGINT NOT NULL,
        reason TEXT,
        event_type TEXT NOT NULL DEFAULT 'decision',
        actor TEXT,
        details TEXT
      );
      CREATE INDEX audit_by_ts ON audit (ts);
      CREATE INDEX audit_by_agent ON audit (agent_id, id);
      CREATE INDEX audit_by_action ON audit (action_id);
      CREATE INDEX audit_by_event ON audit (event_type, id);

      CREATE TABLE webhook_outbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id TEXT NOT NULL,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        url TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
        last_error TEXT,
        created_at BIGINT NOT NULL,
        delivered_at BIGINT
      );
      CREATE INDEX outbox_due ON webhook_outbox (next_attempt_at, id) WHERE state = 'pending';
      CREATE INDEX outbox_by_state ON webhook_outbox (state, id);

      CREATE TABLE webhooks (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        events TEXT NOT NULL,
        secret TEXT NOT NULL,
        agent_id TEXT,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );

      CREATE TABLE agents (
        agent_id TEXT PRIMARY KEY,
        display_name TEXT,
        agent_type TEXT NOT NULL,
        environment TEXT,
        capabilities TEXT NOT NULL,
        allowed_resources TEXT NOT NULL,
        sdk_version TEXT,
        metadata TEXT NOT NULL,
        model_id BIGINT,
        trust_level TEXT NOT NULL CHECK (trust_level IN ('admin', 'self')),
        registered_by TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );

      CREATE TABLE agent_heartbeats (
        agent_id TEXT PRIMARY KEY,
        last_heartbeat BIGINT NOT NULL,
        session_started_at BIGINT NOT NULL,
        sdk_version TEXT,
        metrics TEXT NOT NULL
      );

      -- One row per blocked agent: the kill switch is on while the row exists.
      CREATE TABLE agent_blocks (
        agent_id TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        activated_at BIGINT NOT NULL,
        activated_by TEXT NOT NULL,
        command_id TEXT NOT NULL
      );

      CREATE TABLE agent_commands (
        command_id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        command_type TEXT NOT NULL CHECK (command_type IN ('BLOCK', 'UNBLOCK')),
        target_type TEXT NOT NULL,
        reason TEXT,
        parameters TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'acknowledged')),
        issued_by TEXT NOT NULL,
        issued_via TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        acknowledged_at BIGINT,
        is_broadcast BOOLEAN NOT NULL
      );
      CREATE INDEX agent_commands_pending ON agent_commands (agent_id, created_at) WHERE status = 'pending';

      -- Bumped with every change to agents or agent_blocks; processes poll it to reload.
      CREATE TABLE agent_state_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision BIGINT NOT NULL);
      INSERT INTO agent_state_revision (id, revision) VALUES (1, 0);
    `,
  },
  {
    version: 2,
    name: 'console sessions',
    // The token's digest, not the token: a copy of the database opens no session.
    up: `
      CREATE TABLE console_sessions (
        session_digest TEXT PRIMARY KEY,
        key_name TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
    `,
  },
  {
    version: 3,
    name: 'webhook outbox rows by action',
    // As SQLite's version 11: rows from before stay NULL.
    up: `
      ALTER TABLE webhook_outbox ADD COLUMN action_id TEXT;
      CREATE INDEX outbox_by_action ON webhook_outbox (action_id, id) WHERE action_id IS NOT NULL;
    `,
  },
  {
    version: 4,
    name: 'pending_caps: the caps on pending approvals counted inside the server',
    // Called by the statement that creates a pending approval (approvals.ts), before its rows
    // are inserted. Counts in fresh snapshots taken after its locks are granted (a VOLATILE
    // function's every query gets one), so every creation committed before is counted; the new
    // approval itself ('own') is the +1. Raises to roll the creation back. The locks last until
    // commit, and the caps stay exact across replicas without making every creation wait for
    // the previous one's commit (its WAL flush):
    // - shared mode: the schema's lock shared, plus one of SLOTS locks picked by the agent,
    //   exclusive. An agent's creations all take its slot, so its count is exact; at most
    //   SLOTS − 1 other creations can be in flight uncounted, so the total is safe while
    //   counted + SLOTS ≤ total. Creations of different agents commit together.
    // - exclusive mode ('exclusive', near the total cap): the schema's lock exclusive, which waits
    //   for every creation in flight: both counts exact. Shared mode that finds itself too near
    //   the total cap raises 'ascend: pending_caps_exclusive' and the caller runs again in it.
    up: `
      CREATE FUNCTION pending_caps(agent TEXT, own TEXT, per_agent INTEGER, total INTEGER, lock_key TEXT, exclusive BOOLEAN)
      RETURNS VOID LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
      DECLARE
        slots CONSTANT INTEGER := 64;
        n BIGINT;
      BEGIN
        IF exclusive OR total <= slots THEN
          PERFORM pg_advisory_xact_lock(hashtext(lock_key)::BIGINT);
        ELSE
          PERFORM pg_advisory_xact_lock_shared(hashtext(lock_key)::BIGINT);
          PERFORM pg_advisory_xact_lock(hashtext(lock_key), (hashtext(agent) & 2147483647) % slots);
        END IF;
        SELECT COUNT(*) INTO n FROM actions a JOIN approvals p ON p.approval_id = a.approval_id
          WHERE a.agent_id = agent AND a.status = 'pending' AND p.state = 'pending' AND p.approval_id <> own;
        IF n + 1 > per_agent THEN
          RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'ascend: too_many_pending', DETAIL = 'per_agent';
        END IF;
        SELECT COUNT(*) INTO n FROM (SELECT 1 FROM approvals WHERE state = 'pending' AND approval_id <> own LIMIT total) t;
        IF n + 1 > total THEN
          RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'ascend: too_many_pending', DETAIL = 'total';
        END IF;
        IF NOT (exclusive OR total <= slots) AND n + slots > total THEN
          RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'ascend: pending_caps_exclusive';
        END IF;
      END
      $$;
    `,
  },
  {
    version: 5,
    name: 'webhook subscriptions: notification format',
    // As SQLite's version 12: subscriptions made before keep the envelope.
    up: `ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'ascend' CHECK (format IN ('ascend', 'slack', 'teams', 'servicenow'));`,
  },
  {
    version: 6,
    name: 'A/B tests made through the API',
    // As SQLite's version 13.
    up: `
      CREATE TABLE ab_tests (
        name TEXT PRIMARY KEY,
        control_policy TEXT NOT NULL,
        test_policy TEXT NOT NULL,
        traffic_split DOUBLE PRECISION NOT NULL,
        duration_days DOUBLE PRECISION NOT NULL,
        start_at BIGINT NOT NULL,
        shadow BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL
      );
    `,
  },
];

/** A schema name fit to be spliced into SQL unquoted (checked again here; the config checks it first). */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Bring the schema up to the newest migration on `client` (whose search_path is the schema);
 * returns the versions before and after. Holds a session advisory lock keyed by the schema for
 * the whole run, so two processes never migrate the same schema at once.
 */
export async function migratePg(
  client: PoolClient, schema: string, migrations: readonly PgMigration[] = PG_MIGRATIONS, now = Date.now(),
): Promise<{ from: number; to: number }> {
  if (!SCHEMA_NAME.test(schema)) throw new StoreError('migration_failed', `schema "${schema}" is not a plain lower-case SQL name`);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new StoreError('migration_failed', `migration #${i} has version ${m.version}, want ${i + 1}`);
  });
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [`ascend:${schema}:migrate`]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const current = async (): Promise<number> =>
      Number((await client.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0) AS v FROM ${schema}.schema_migrations`)).rows[0]!.v);
    const from = await current();
    const newest = migrations.length;
    if (from > newest) {
      throw new StoreError('schema_too_new', `database schema "${schema}" is version ${from}, this build knows up to ${newest}: upgrade ascend-sidecar`);
    }
    for (const m of migrations.slice(from)) {
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL search_path TO ${schema}`);
        await client.query(m.up);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, now]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new StoreError('migration_failed', `migration ${m.version} (${m.name}) failed: ${String(err)}`, { cause: err });
      }
    }
    return { from, to: await current() };
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`ascend:${schema}:migrate`]).catch(() => undefined);
  }
}
