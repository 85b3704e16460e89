/**
 * One store worker thread and the calls in flight to it. A call is settled by its reply, or — if
 * the thread dies first (an uncaught error, out of memory, terminate()) — rejected with
 * `store_unavailable`: a caller never waits for an answer that cannot come. The thread is
 * unref'd while idle (it never keeps a process alive on its own) and ref'd while a call is out
 * (a process awaiting a store answer is not done).
 */
import { Worker } from 'node:worker_threads';
import { StoreError } from '../errors.js';
import type { SqliteOptions } from '../sqlite/open.js';
import { fromWire, type CallMessage, type HostMessage, type StoreMethod } from './protocol.js';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export interface StoreThreadOptions {
  /** The worker's entry script (hostScript()). */
  readonly script: URL;
  readonly sqlite: SqliteOptions;
  /**
   * Calls waiting for their answer at most; more are refused at once (`store_unavailable`).
   * While another process holds the file's lock every write waits its busy timeout in turn, and
   * each pending check (answered at its deadline) leaves its write queued: this bounds the queue.
   */
  readonly maxCalls: number;
  /** Told of an exit that close() did not ask for. */
  readonly onDeath: (err: Error) => void;
}

export class StoreThread {
  private readonly calls = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private dead: Error | undefined;
  private closing = false;
  /** Resolves when the thread has exited, for whatever reason. */
  readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker, private readonly options: StoreThreadOptions) {
    worker.unref();
    worker.on('message', (m: HostMessage) => { if (m.type === 'reply') this.settle(m); });
    worker.on('error', (err) => { this.failure = err; });
    this.exited = new Promise((resolve) => worker.once('exit', (code) => {
      this.dead = new StoreError('store_unavailable', `the store worker exited (code ${code})${this.failure ? `: ${this.failure.message}` : ''}`,
        { cause: this.failure });
      for (const p of this.calls.values()) p.reject(this.dead);
      this.calls.clear();
      if (!this.closing) options.onDeath(this.dead);
      resolve();
    }));
  }

  /**
   * Starts a thread and resolves once it has opened the database; rejects with the reason it
   * could not (e.g. StoreError `schema_too_new`).
   */
  static start(options: StoreThreadOptions): Promise<StoreThread> {
    const worker = new Worker(options.script, { workerData: options.sqlite });
    return new Promise((resolve, reject) => {
      const early = (err: Error) => reject(new StoreError('store_unavailable', `the store worker failed to start: ${err.message}`, { cause: err }));
      const onExit = (code: number) => early(new Error(`exited with code ${code}`));
      worker.once('error', early);
      worker.once('exit', onExit);
      worker.once('message', (m: HostMessage) => {
        worker.off('error', early);
        worker.off('exit', onExit);
        if (m.type === 'ready') resolve(new StoreThread(worker, options));
        else if (m.type === 'open_failed') reject(fromWire(m.error));
        else reject(new StoreError('store_unavailable', `the store worker answered ${m.type} before it was ready`));
      });
    });
  }

  /** False once the thread has exited. */
  get alive(): boolean {
    return this.dead === undefined;
  }

  call(method: StoreMethod | 'close', args: readonly unknown[]): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.calls.size >= this.options.maxCalls && method !== 'close') {
      return Promise.reject(new StoreError('store_unavailable', `the store has ${this.calls.size} calls waiting; refusing more until it catches up`));
    }
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      if (this.calls.size === 1) this.worker.ref();
      this.worker.postMessage({ id, method, args } satisfies CallMessage);
    });
  }

  /**
   * Lets the calls already sent finish (the worker answers in order, so `close` is answered
   * last), closes the database and waits for the thread to end.
   */
  async close(): Promise<void> {
    if (this.dead) return;
    this.closing = true;
    this.worker.ref();
    await this.call('close', []).catch(() => undefined); // a thread that dies now has nothing left to close
    await this.exited;
  }

  /** Ends the thread at once, as a crash would (in-flight calls fail with store_unavailable). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
    await this.exited;
  }

  private settle(m: Extract<HostMessage, { type: 'reply' }>): void {
    const p = this.calls.get(m.id);
    if (p === undefined) return;
    this.calls.delete(m.id);
    // A closing thread stays ref'd until it has exited: close() awaits that.
    if (this.calls.size === 0 && !this.closing) this.worker.unref();
    if (m.ok) p.resolve(m.value);
    else p.reject(fromWire(m.error));
  }
}
