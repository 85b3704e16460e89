/**
 * PostgreSQL implementation of {@link Store}: the shared state of a fleet of sidecars (every
 * replica on one database), through a node-postgres connection pool. Unlike SQLite it runs in
 * the sidecar's own thread: every call is network I/O, which never blocks the event loop.
 *
 * `open` migrates the schema first (under an advisory lock, see migrations.ts) and refuses a
 * database whose schema is newer than this build.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AgentBlockRecord, AgentRecord, HeartbeatRecord } from '../agent-records.js';
import type { KillSwitchEffects } from '../agent-store.js';
import { StoreError } from '../errors.js';
import type { ActionRecord, ApprovalRecord, AuditRecord, NewOutboxEntry, NewWebhook, WebhookChange } from '../records.js';
import type {
  ActionCompletion, ActionListQuery, ApprovalTransition, AuditQuery, NewPendingApproval, PageQuery, Store,
} from '../store.js';
import { AgentsPg, WebhooksPg } from './agents.js';
import { ApprovalsPg } from './approvals.js';
import { checkout, createPool, type PgOptions } from './db.js';
import { Fleet, fleetChannel } from './fleet.js';
import { migratePg, SCHEMA_NAME } from './migrations.js';
import { AbTestsPg } from './ab-tests.js';
import { SessionsPg } from './sessions.js';
import { TrailPg } from './trail.js';
import type { ConsoleSessionRecord } from '../session-store.js';
import type { AbTestRecord } from '../ab-test-store.js';

export type { PgOptions } from './db.js';

export const DEFAULT_SCHEMA = 'ascend';

export class PostgresStore implements Store {
  private closed = false;
  private readonly approvals: ApprovalsPg;
  private readonly trail: TrailPg;
  private readonly agents: AgentsPg;
  private readonly webhooks: WebhooksPg;
  private readonly sessions: SessionsPg;
  private readonly abTests: AbTestsPg;
  /** This process among the replicas: its notifications carry it, so it skips its own. */
  readonly instanceId = randomUUID();
  /** Notifications from the other replicas and the scheduler's leadership; started by the approvals layer. */
  readonly fleet: Fleet;

  private constructor(readonly pool: pg.Pool, readonly schema: string, options: PgOptions) {
    const n = { channel: fleetChannel(schema), instanceId: this.instanceId };
    this.approvals = new ApprovalsPg(pool, schema, n);
    this.trail = new TrailPg(pool, schema);
    this.agents = new AgentsPg(pool, n);
    this.webhooks = new WebhooksPg(pool, n);
    this.fleet = new Fleet({ url: options.url, schema, instanceId: this.instanceId, ...(options.log ? { log: options.log } : {}) });
    this.sessions = new SessionsPg(pool);
    this.abTests = new AbTestsPg(pool, n);
  }

  /** Connects, migrates (or refuses a newer schema) and returns the store. */
  static async open(options: PgOptions): Promise<PostgresStore> {
    const schema = options.schema ?? DEFAULT_SCHEMA;
    if (!SCHEMA_NAME.test(schema)) throw new StoreError('migration_failed', `schema "${schema}" is not a plain lower-case SQL name`);
    await PostgresStore.migrate({ ...options, schema });
    return new PostgresStore(createPool({ ...options, schema }), schema, options);
  }

  /** Only the migrations (also `ascend-sidecar migrate`), on a connection of their own with no time limit. */
  static async migrate(options: PgOptions): Promise<{ from: number; to: number }> {
    const schema = options.schema ?? DEFAULT_SCHEMA;
    const pool = createPool({ ...options, schema, poolMax: 1, untimed: true });
    try {
      let out: Awaited<ReturnType<typeof checkout>>;
      try {
        out = await checkout(pool);
      } catch (err) {
        throw new StoreError('store_unavailable', `cannot connect to PostgreSQL: ${(err as Error).message}`, { cause: err });
      }
      try {
        return await migratePg(out.client, schema);
      } finally {
        out.release(new Error('migrations done: not reused'));
      }
    } finally {
      await pool.end().catch(() => undefined);
    }
  }

  private live(): void {
    if (this.closed) throw new StoreError('store_closed', 'store is closed');
  }

  async createPendingApproval(input: NewPendingApproval) { this.live(); return this.approvals.createPending(input); }
  async findPendingApprovalByFingerprint(fp: string) { this.live(); return this.approvals.findPendingByFingerprint(fp); }
  async findLatestApprovalByFingerprint(fp: string) { this.live(); return this.approvals.findLatestByFingerprint(fp); }
  async getApproval(id: string) { this.live(); return this.approvals.getApproval(id); }
  async getAction(id: string) { this.live(); return this.approvals.getAction(id); }
  async getActions(ids: readonly string[]) { this.live(); return this.approvals.getActions(ids); }
  async insertAction(action: ActionRecord) { this.live(); return this.approvals.insertAction(action); }
  async listActions(q: ActionListQuery) { this.live(); return this.approvals.listActions(q); }
  async listApprovals(q: PageQuery & { state?: ApprovalRecord['state'] }) { this.live(); return this.approvals.list(q); }
  async countApprovals(state: ApprovalRecord['state']) { this.live(); return this.approvals.count(state); }
  async transitionApproval(t: ApprovalTransition) { this.live(); return this.approvals.transition(t); }
  async listDueApprovals(now: number, limit: number) { this.live(); return this.approvals.due(now, limit); }
  async nextApprovalDeadline() { this.live(); return this.approvals.nextDeadline(); }
  async consumeGrant(id: string, now: number) { this.live(); return this.approvals.consumeGrant(id, now); }
  async useLatestApproval(fp: string, now: number) { this.live(); return this.approvals.useLatest(fp, now); }
  async completeAction(c: ActionCompletion) { this.live(); return this.approvals.complete(c); }

  async appendAudit(rows: readonly AuditRecord[]) { this.live(); return this.trail.append(rows); }
  async queryAudit(q: AuditQuery) { this.live(); return this.trail.query(q); }
  async countAudit(q: Omit<AuditQuery, 'limit' | 'cursor' | 'offset'>) { this.live(); return this.trail.count(q); }
  async purgeAudit(before: number) { this.live(); return this.trail.purgeAudit(before); }

  async enqueueOutbox(entries: readonly NewOutboxEntry[]) { this.live(); return this.trail.enqueue(entries); }
  async claimOutbox(now: number, limit: number, leaseMs: number) { this.live(); return this.trail.claim(now, limit, leaseMs); }
  async markDelivered(id: number, now: number) { this.live(); return this.trail.markDelivered(id, now); }
  async markFailed(id: number, error: string, next: number) { this.live(); return this.trail.markFailed(id, error, next); }
  async markDead(id: number, error: string) { this.live(); return this.trail.markDead(id, error); }
  async outboxDepth() { this.live(); return this.trail.depth(); }
  async listDeadLetters(q: PageQuery) { this.live(); return this.trail.deadLetters(q); }
  async listOutboxForAction(actionId: string, limit: number) { this.live(); return this.trail.forAction(actionId, limit); }
  async requeueDeadLetter(id: number, now: number) { this.live(); return this.trail.requeue(id, now); }
  async purgeDeliveredOutbox(before: number) { this.live(); return this.trail.purgeDelivered(before); }

  async createWebhook(w: NewWebhook) { this.live(); return this.webhooks.create(w); }
  async listWebhooks() { this.live(); return this.webhooks.list(); }
  async getWebhook(id: string) { this.live(); return this.webhooks.get(id); }
  async updateWebhook(id: string, c: WebhookChange, now: number) { this.live(); return this.webhooks.update(id, c, now); }
  async deleteWebhook(id: string) { this.live(); return this.webhooks.remove(id); }

  async getAgent(id: string) { this.live(); return this.agents.get(id); }
  async putAgent(agent: AgentRecord) { this.live(); return this.agents.put(agent); }
  async deleteAgent(id: string) { this.live(); return this.agents.delete(id); }
  async listAgents(q: PageQuery) { this.live(); return this.agents.list(q); }
  async loadAgentState() { this.live(); return this.agents.load(); }
  async agentStateRevision() { this.live(); return this.agents.revision(); }
  async putHeartbeats(rows: readonly HeartbeatRecord[]) { this.live(); return this.agents.putHeartbeats(rows); }
  async getHeartbeat(id: string) { this.live(); return this.agents.getHeartbeat(id); }
  async blockAgent(block: AgentBlockRecord, effects: KillSwitchEffects) { this.live(); return this.agents.block(block, effects); }
  async unblockAgent(id: string, effects: KillSwitchEffects) { this.live(); return this.agents.unblock(id, effects); }
  async listPendingCommands(id: string, now: number, limit: number) { this.live(); return this.agents.pendingCommands(id, now, limit); }
  async acknowledgeCommand(id: string, commandId: string, now: number) { this.live(); return this.agents.acknowledge(id, commandId, now); }

  async createConsoleSession(s: ConsoleSessionRecord) { this.live(); return this.sessions.create(s); }
  async getConsoleSession(digest: string, now: number) { this.live(); return this.sessions.get(digest, now); }
  async deleteConsoleSession(digest: string) { this.live(); return this.sessions.remove(digest); }
  async purgeConsoleSessions(now: number) { this.live(); return this.sessions.purge(now); }

  async createAbTest(t: AbTestRecord) { this.live(); return this.abTests.create(t); }
  async listAbTests() { this.live(); return this.abTests.list(); }

  /** Waits for the calls in flight, then closes every connection; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fleet.stop();
    await this.pool.end();
  }
}
