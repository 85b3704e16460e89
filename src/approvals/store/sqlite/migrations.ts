/**
 * Versioned schema migrations. Append a new entry for every change; never edit an applied one.
 * Each runs in its own IMMEDIATE transaction together with its schema_migrations row, so a crash
 * mid-migration leaves the previous version intact, and two processes opening the same file at
 * once serialize on the write lock (the second sees the first's rows and skips).
 */
import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'actions, approvals, votes, audit, webhook outbox',
    up: `
      CREATE TABLE actions (
        action_id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        action_type TEXT NOT NULL,
        resource TEXT NOT NULL,
        parameters TEXT NOT NULL,
        context TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('allowed', 'denied', 'pending')),
        policy_id TEXT,
        risk_score REAL,
        reason TEXT,
        approval_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'completed', 'expired')),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        completion_status TEXT,
        completion_result TEXT,
        completed_at INTEGER
      ) STRICT;
      CREATE INDEX actions_fingerprint ON actions (fingerprint, created_at);

      CREATE TABLE approvals (
        approval_id TEXT PRIMARY KEY,
        action_id TEXT NOT NULL REFERENCES actions (action_id),
        fingerprint TEXT NOT NULL,
        workflow TEXT NOT NULL,
        current_step INTEGER NOT NULL,
        escalated INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
        requested_at INTEGER NOT NULL,
        decided_at INTEGER,
        deadline_at INTEGER,
        reason TEXT,
        grant_kind TEXT NOT NULL CHECK (grant_kind IN ('single_use', 'ttl')),
        grant_ttl_seconds INTEGER NOT NULL,
        grant_expires_at INTEGER,
        grant_used_at INTEGER,
        version INTEGER NOT NULL
      ) STRICT;
      -- The database, not only the code, guarantees one pending approval per fingerprint.
      CREATE UNIQUE INDEX approvals_one_pending ON approvals (fingerprint) WHERE state = 'pending';
      CREATE INDEX approvals_by_fingerprint ON approvals (fingerprint, requested_at);
      CREATE INDEX approvals_by_state ON approvals (state, requested_at, approval_id);
      CREATE INDEX approvals_due ON approvals (deadline_at) WHERE state = 'pending';

      CREATE TABLE votes (
        approval_id TEXT NOT NULL REFERENCES approvals (approval_id),
        step INTEGER NOT NULL,
        escalated INTEGER NOT NULL,
        approver TEXT NOT NULL,
        groups TEXT NOT NULL,
        vote TEXT NOT NULL CHECK (vote IN ('approve', 'deny')),
        comment TEXT,
        at INTEGER NOT NULL,
        UNIQUE (approval_id, approver)
      ) STRICT;

      -- AUTOINCREMENT: ids never reused after a purge, so audit cursors stay monotonic.
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        action_id TEXT NOT NULL,
        request_id TEXT,
        adapter TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        action_type TEXT NOT NULL,
        resource TEXT NOT NULL,
        decision TEXT NOT NULL,
        policy_id TEXT,
        risk_score REAL,
        cache_hit INTEGER NOT NULL,
        latency_us INTEGER NOT NULL,
        reason TEXT
      ) STRICT;
      CREATE INDEX audit_by_ts ON audit (ts);
      CREATE INDEX audit_by_agent ON audit (agent_id, id);

      CREATE TABLE webhook_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        url TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
        last_error TEXT,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
      ) STRICT;
      CREATE INDEX outbox_due ON webhook_outbox (next_attempt_at, id) WHERE state = 'pending';
      CREATE INDEX outbox_by_state ON webhook_outbox (state, id);
    `,
  },
  {
    version: 2,
    name: 'audit rows by action id',
    // GET /api/agent-action/status answers for gateway decisions that never needed an approval
    // (and so have no actions row) from their audit row.
    up: 'CREATE INDEX audit_by_action ON audit (action_id);',
  },
  {
    version: 3,
    name: 'what each action was decided on (grants bound to the decision)',
    // Rows from before: an empty binding, so no new request's fingerprint matches theirs.
    up: `ALTER TABLE actions ADD COLUMN binding TEXT NOT NULL DEFAULT '{"policy_digest":null,"workflow":null,"values":{}}';`,
  },
  {
    version: 4,
    name: 'actions by agent and time (SDK activity pages)',
    up: 'CREATE INDEX actions_by_agent ON actions (agent_id, created_at); CREATE INDEX actions_by_time ON actions (created_at);',
  },
  {
    version: 5,
    name: 'webhook subscriptions made through the API',
    // AUTOINCREMENT: an id (wh_<id>) is never reused after a delete, so a late PUT or DELETE
    // naming a deleted subscription cannot reach a newer one.
    up: `
      CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        url TEXT NOT NULL UNIQUE,
        events TEXT NOT NULL,
        secret TEXT NOT NULL,
        agent_id TEXT,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'pending actions by agent',
    // createPendingApproval counts an agent's pending approvals (approvals.max_pending_per_agent)
    // on every new approval: a range of at most that many entries, however many actions the
    // agent has had. An action is pending exactly while its approval is.
    up: `CREATE INDEX actions_pending_by_agent ON actions (agent_id) WHERE status = 'pending';`,
  },
  {
    version: 7,
    name: 'actions: the API key that requested them',
    // Separation of duties: the key that requested an action may not vote on its approval.
    // Rows from before stay NULL (requested through a gateway, or before it was recorded).
    up: 'ALTER TABLE actions ADD COLUMN requested_by TEXT;',
  },
  {
    version: 8,
    name: 'audit rows for events beside decisions (event_type, actor, details)',
    // Rows from before are decisions. ADD COLUMN with a constant default rewrites nothing, so
    // this is instant on a large trail.
    up: `
      ALTER TABLE audit ADD COLUMN event_type TEXT NOT NULL DEFAULT 'decision';
      ALTER TABLE audit ADD COLUMN actor TEXT;
      ALTER TABLE audit ADD COLUMN details TEXT;
      CREATE INDEX audit_by_event ON audit (event_type, id);
    `,
  },
  {
    version: 9,
    name: 'agent registry, heartbeats, kill switch and agent commands',
    up: `
      CREATE TABLE agents (
        agent_id TEXT PRIMARY KEY,
        display_name TEXT,
        agent_type TEXT NOT NULL,
        environment TEXT,
        capabilities TEXT NOT NULL,
        allowed_resources TEXT NOT NULL,
        sdk_version TEXT,
        metadata TEXT NOT NULL,
        model_id INTEGER,
        trust_level TEXT NOT NULL CHECK (trust_level IN ('admin', 'self')),
        registered_by TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE agent_heartbeats (
        agent_id TEXT PRIMARY KEY,
        last_heartbeat INTEGER NOT NULL,
        session_started_at INTEGER NOT NULL,
        sdk_version TEXT,
        metrics TEXT NOT NULL
      ) STRICT;

      -- One row per blocked agent: the kill switch is on while the row exists.
      CREATE TABLE agent_blocks (
        agent_id TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        activated_at INTEGER NOT NULL,
        activated_by TEXT NOT NULL,
        command_id TEXT NOT NULL
      ) STRICT;

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
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        acknowledged_at INTEGER,
        is_broadcast INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX agent_commands_pending ON agent_commands (agent_id, created_at) WHERE status = 'pending';

      -- Bumped with every change to agents or agent_blocks; processes poll it to reload.
      CREATE TABLE agent_state_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL) STRICT;
      INSERT INTO agent_state_revision (id, revision) VALUES (1, 0);
    `,
  },
  {
    version: 10,
    name: 'console sessions',
    // The token's digest, not the token: a copy of the file opens no session.
    up: `
      CREATE TABLE console_sessions (
        session_digest TEXT PRIMARY KEY,
        key_name TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
    `,
  },
  {
    version: 11,
    name: 'webhook outbox rows by action',
    // The console's action page lists the deliveries of events about that action. Rows from
    // before stay NULL: their action is only in the payload, in whichever format it was sent.
    up: `
      ALTER TABLE webhook_outbox ADD COLUMN action_id TEXT;
      CREATE INDEX outbox_by_action ON webhook_outbox (action_id, id) WHERE action_id IS NOT NULL;
    `,
  },
  {
    version: 12,
    name: 'webhook subscriptions: notification format',
    // Subscriptions made before received the envelope, and keep receiving it.
    up: `ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'ascend' CHECK (format IN ('ascend', 'slack', 'teams', 'servicenow'));`,
  },
  {
    version: 13,
    name: 'A/B tests made through the API',
    // The config's own ab_tests are not stored; results are counted in memory per process.
    up: `
      CREATE TABLE ab_tests (
        name TEXT PRIMARY KEY,
        control_policy TEXT NOT NULL,
        test_policy TEXT NOT NULL,
        traffic_split REAL NOT NULL,
        duration_days REAL NOT NULL,
        start_at INTEGER NOT NULL,
        shadow INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
];

/** Bring the schema up to the newest migration; returns the versions before and after. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS, now = Date.now()) {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new StoreError('migration_failed', `migration #${i} has version ${m.version}, want ${i + 1}`);
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const current = (): number =>
    (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const from = current();
  const newest = migrations.length;
  if (from > newest) {
    throw new StoreError('schema_too_new', `database schema is version ${from}, this build knows up to ${newest}: upgrade ascend-sidecar`);
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations.slice(from)) {
    const apply = db.transaction(() => {
      if (current() >= m.version) return; // another process got there first
      db.exec(m.up);
      record.run(m.version, m.name, now);
    });
    try {
      apply.immediate();
    } catch (err) {
      throw new StoreError('migration_failed', `migration ${m.version} (${m.name}) failed: ${String(err)}`, { cause: err });
    }
  }
  return { from, to: current() };
}
