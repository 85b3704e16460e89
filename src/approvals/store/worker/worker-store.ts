/**
 * {@link Store} whose SQLite connection lives in a worker thread (node:worker_threads): every
 * method is a message to the thread that owns an in-thread SqliteStore. SQLite is synchronous —
 * a write holds its thread for its fsync, and for up to the busy timeout when another process
 * holds the write lock — so in the sidecar's own thread it stalled every check, cached allows
 * included. Here only the callers that await the store wait for it.
 *
 * Failure handling: if the thread dies, the calls in flight are rejected (`store_unavailable`;
 * the pipeline answers them per fail_mode as `store_error`) and the next call starts a new
 * thread, which reopens the file. A thread that cannot start rejects that call with the reason
 * (e.g. `schema_too_new`), and calls in the next second fail the same way at once instead of
 * starting one thread each. close() lets the calls already made finish, checkpoints the WAL
 * and ends the thread.
 */
import { silentLogger, type Logger } from '../../../shared/runtime.js';
import { StoreError } from '../errors.js';
import type { SqliteOptions } from '../sqlite/open.js';
import type { Store } from '../store.js';
import type { StoreMethod } from './protocol.js';
import { hostScript } from './script.js';
import { StoreThread } from './thread.js';

export interface WorkerStoreOptions extends SqliteOptions {
  readonly log?: Logger;
  /** Calls waiting for the thread at most (see StoreThreadOptions.maxCalls). Default 10,000. */
  readonly maxCalls?: number;
}

/** After a thread failed to start, calls fail at once with that reason for this long. */
const RESTART_BACKOFF_MS = 1000;
const MAX_CALLS = 10_000;

type Result<M extends StoreMethod> = ReturnType<Store[M]>;

/**
 * Every method of {@link Store} but close: each becomes a message to the thread (below). The
 * type check makes a method added to Store without being added here a compile error.
 */
const FORWARDED = [
  'createPendingApproval', 'findPendingApprovalByFingerprint', 'findLatestApprovalByFingerprint', 'getApproval', 'getAction', 'getActions',
  'insertAction', 'listActions', 'listApprovals', 'countApprovals', 'transitionApproval', 'listDueApprovals',
  'nextApprovalDeadline', 'consumeGrant', 'useLatestApproval', 'completeAction',
  'appendAudit', 'queryAudit', 'countAudit', 'purgeAudit',
  'enqueueOutbox', 'claimOutbox', 'markDelivered', 'markFailed', 'markDead', 'outboxDepth', 'listDeadLetters',
  'listOutboxForAction', 'requeueDeadLetter', 'purgeDeliveredOutbox',
  'createWebhook', 'listWebhooks', 'getWebhook', 'updateWebhook', 'deleteWebhook',
  'getAgent', 'putAgent', 'deleteAgent', 'listAgents', 'loadAgentState', 'agentStateRevision', 'putHeartbeats', 'getHeartbeat',
  'blockAgent', 'unblockAgent', 'listPendingCommands', 'acknowledgeCommand',
  'createConsoleSession', 'getConsoleSession', 'deleteConsoleSession', 'purgeConsoleSessions',
  'createAbTest', 'listAbTests',
] as const satisfies readonly StoreMethod[];
const exhaustive: Exclude<StoreMethod, (typeof FORWARDED)[number]> extends never ? true : never = true;
void exhaustive;

// The forwarded methods, declared for the type checker and installed on the prototype below.
export interface WorkerStore extends Omit<Store, 'close'> {}

export class WorkerStore implements Store {
  private readonly script = hostScript();
  private thread: StoreThread | undefined;
  private starting: Promise<StoreThread> | undefined;
  private startFailure: { error: unknown; until: number } | undefined;
  private closing: Promise<void> | undefined;

  private constructor(private readonly options: WorkerStoreOptions) {}

  /** Starts the thread and opens (creating and migrating) the file; rejects as SqliteStore's constructor throws. */
  static async open(options: WorkerStoreOptions): Promise<WorkerStore> {
    const store = new WorkerStore(options);
    await store.live();
    return store;
  }

  /** Finishes the calls already made, checkpoints and closes the file, ends the thread; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.starting?.catch(() => undefined);
      await this.thread?.close();
    })();
    return this.closing;
  }

  /** Ends the thread at once, as a crash would: in-flight calls fail, the next call starts a new one. */
  async terminate(): Promise<void> {
    await this.thread?.terminate();
  }

  private call<M extends StoreMethod>(method: M, ...args: Parameters<Store[M]>): Result<M> {
    return this.live().then((t) => t.call(method, args)) as Result<M>;
  }

  /** The running thread, starting one when there is none. */
  private live(): Promise<StoreThread> {
    if (this.closing) return Promise.reject(new StoreError('store_closed', 'store is closed'));
    if (this.thread?.alive) return Promise.resolve(this.thread);
    if (this.starting) return this.starting;
    const failed = this.startFailure;
    if (failed && Date.now() < failed.until) return Promise.reject(failed.error);
    const { log: _log, maxCalls = MAX_CALLS, ...sqlite } = this.options;
    this.starting = StoreThread.start({ script: this.script, sqlite, maxCalls, onDeath: (err) => this.died(err) }).then(
      (t) => { this.thread = t; this.startFailure = undefined; return t; },
      (error: unknown) => { this.startFailure = { error, until: Date.now() + RESTART_BACKOFF_MS }; throw error; },
    ).finally(() => { this.starting = undefined; });
    return this.starting;
  }

  private died(err: Error): void {
    (this.options.log ?? silentLogger).error({ err }, 'store worker died; calls in flight failed, the next call starts a new worker');
  }
}

for (const method of FORWARDED) {
  Object.defineProperty(WorkerStore.prototype, method, {
    value(this: { call(m: StoreMethod, ...args: unknown[]): Promise<unknown> }, ...args: unknown[]) { return this.call(method, ...args); },
    writable: true, configurable: true,
  });
}
