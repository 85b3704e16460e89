/**
 * SQLite implementation of {@link Store}: one better-sqlite3 connection, WAL, versioned schema.
 * Methods are `async` only to honour the backend-neutral contract; SQLite answers synchronously,
 * and a thrown SqliteError surfaces as a rejected Promise.
 */
import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors.js';
import type { AgentBlockRecord, AgentRecord, HeartbeatRecord } from '../agent-records.js';
import type { KillSwitchEffects } from '../agent-store.js';
import type { ActionRecord, ApprovalRecord, AuditRecord, NewOutboxEntry, NewWebhook, WebhookChange } from '../records.js';
import type {
  ActionCompletion, ActionListQuery, ApprovalTransition, AuditQuery, NewPendingApproval, PageQuery, Store,
} from '../store.js';
import { AgentsSql } from './agents.js';
import { ApprovalsSql } from './approvals.js';
import { AuditSql } from './audit.js';
import { KillSwitchSql } from './kill-switch.js';
import { openSqlite, type SqliteOptions } from './open.js';
import { OutboxSql } from './outbox.js';
import { AbTestsSql } from './ab-tests.js';
import { SessionsSql } from './sessions.js';
import { WebhooksSql } from './webhooks.js';
import type { ConsoleSessionRecord } from '../session-store.js';
import type { AbTestRecord } from '../ab-test-store.js';

export type { SqliteOptions } from './open.js';

export class SqliteStore implements Store {
  private db: Database | undefined;
  private readonly approvals: ApprovalsSql;
  private readonly audit: AuditSql;
  private readonly outbox: OutboxSql;
  private readonly webhooks: WebhooksSql;
  private readonly agents: AgentsSql;
  private readonly killSwitch: KillSwitchSql;
  private readonly sessions: SessionsSql;
  private readonly abTests: AbTestsSql;

  /** Opens (creating directories and migrating) synchronously; throws StoreError on a bad file. */
  constructor(options: SqliteOptions) {
    const db = openSqlite(options);
    this.db = db;
    this.outbox = new OutboxSql(db);
    this.approvals = new ApprovalsSql(db, this.outbox);
    this.audit = new AuditSql(db);
    this.webhooks = new WebhooksSql(db);
    this.agents = new AgentsSql(db);
    this.sessions = new SessionsSql(db);
    this.abTests = new AbTestsSql(db);
    this.killSwitch = new KillSwitchSql(db, { outbox: this.outbox, audit: this.audit, bump: () => this.agents.bump() });
  }

  private live(): void {
    if (!this.db?.open) throw new StoreError('store_closed', 'store is closed');
  }

  async createPendingApproval(input: NewPendingApproval) { this.live(); return this.approvals.createPending(input); }
  async findPendingApprovalByFingerprint(fp: string) { this.live(); return this.approvals.findPendingByFingerprint(fp); }
  async findLatestApprovalByFingerprint(fp: string) { this.live(); return this.approvals.findLatestByFingerprint(fp); }
  async getApproval(id: string) { this.live(); return this.approvals.getApproval(id); }
  async getAction(id: string) { this.live(); return this.approvals.getAction(id); }
  async getActions(ids: readonly string[]) { this.live(); return this.approvals.getActions(ids); }
  async insertAction(action: ActionRecord) { this.live(); this.approvals.insertAction(action); }
  async listActions(q: ActionListQuery) { this.live(); return this.approvals.listActions(q); }
  async listApprovals(q: PageQuery & { state?: ApprovalRecord['state'] }) { this.live(); return this.approvals.list(q); }
  async countApprovals(state: ApprovalRecord['state']) { this.live(); return this.approvals.count(state); }
  async transitionApproval(t: ApprovalTransition) { this.live(); return this.approvals.transition(t); }
  async listDueApprovals(now: number, limit: number) { this.live(); return this.approvals.due(now, limit); }
  async nextApprovalDeadline() { this.live(); return this.approvals.nextDeadline(); }
  async consumeGrant(id: string, now: number) { this.live(); return this.approvals.consumeGrant(id, now); }
  async useLatestApproval(fp: string, now: number) { this.live(); return this.approvals.useLatest(fp, now); }
  async completeAction(c: ActionCompletion) { this.live(); return this.approvals.complete(c); }

  async appendAudit(rows: readonly AuditRecord[]) { this.live(); this.audit.append(rows); }
  async queryAudit(q: AuditQuery) { this.live(); return this.audit.query(q); }
  async countAudit(q: Omit<AuditQuery, 'limit' | 'cursor' | 'offset'>) { this.live(); return this.audit.count(q); }
  async purgeAudit(before: number) { this.live(); return this.audit.purgeBefore(before); }

  async enqueueOutbox(entries: readonly NewOutboxEntry[]) { this.live(); this.outbox.enqueue(entries); }
  async claimOutbox(now: number, limit: number, leaseMs: number) { this.live(); return this.outbox.claim(now, limit, leaseMs); }
  async markDelivered(id: number, now: number) { this.live(); this.outbox.markDelivered(id, now); }
  async markFailed(id: number, error: string, next: number) { this.live(); this.outbox.markFailed(id, error, next); }
  async markDead(id: number, error: string) { this.live(); this.outbox.markDead(id, error); }
  async outboxDepth() { this.live(); return this.outbox.depth(); }
  async listDeadLetters(q: PageQuery) { this.live(); return this.outbox.deadLetters(q); }
  async listOutboxForAction(actionId: string, limit: number) { this.live(); return this.outbox.forAction(actionId, limit); }
  async requeueDeadLetter(id: number, now: number) { this.live(); return this.outbox.requeue(id, now); }
  async purgeDeliveredOutbox(before: number) { this.live(); return this.outbox.purgeDelivered(before); }

  async createWebhook(w: NewWebhook) { this.live(); return this.webhooks.create(w); }
  async listWebhooks() { this.live(); return this.webhooks.list(); }
  async getWebhook(id: string) { this.live(); return this.webhooks.get(id); }
  async updateWebhook(id: string, c: WebhookChange, now: number) { this.live(); return this.webhooks.update(id, c, now); }
  async deleteWebhook(id: string) { this.live(); return this.webhooks.remove(id); }
  async getAgent(id: string) { this.live(); return this.agents.get(id); }
  async putAgent(agent: AgentRecord) { this.live(); this.agents.put(agent); }
  async deleteAgent(id: string) { this.live(); return this.agents.delete(id); }
  async listAgents(q: PageQuery) { this.live(); return this.agents.list(q); }
  async loadAgentState() { this.live(); return this.agents.load(); }
  async agentStateRevision() { this.live(); return this.agents.revision(); }
  async putHeartbeats(rows: readonly HeartbeatRecord[]) { this.live(); this.agents.putHeartbeats(rows); }
  async getHeartbeat(id: string) { this.live(); return this.agents.getHeartbeat(id); }
  async blockAgent(block: AgentBlockRecord, effects: KillSwitchEffects) { this.live(); return this.killSwitch.block(block, effects); }
  async unblockAgent(id: string, effects: KillSwitchEffects) { this.live(); return this.killSwitch.unblock(id, effects); }
  async listPendingCommands(id: string, now: number, limit: number) { this.live(); return this.killSwitch.pendingCommands(id, now, limit); }
  async acknowledgeCommand(id: string, commandId: string, now: number) { this.live(); return this.killSwitch.acknowledge(id, commandId, now); }

  async createConsoleSession(s: ConsoleSessionRecord) { this.live(); this.sessions.create(s); }
  async getConsoleSession(digest: string, now: number) { this.live(); return this.sessions.get(digest, now); }
  async deleteConsoleSession(digest: string) { this.live(); return this.sessions.remove(digest); }
  async purgeConsoleSessions(now: number) { this.live(); return this.sessions.purge(now); }

  async createAbTest(t: AbTestRecord) { this.live(); return this.abTests.create(t); }
  async listAbTests() { this.live(); return this.abTests.list(); }

  /** Checkpoints the WAL into the main file and closes; idempotent. */
  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    if (!db?.open) return;
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  }
}
