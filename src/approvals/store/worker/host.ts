/**
 * The store worker's entry script (node:worker_threads): it owns the better-sqlite3 connection
 * (an in-thread SqliteStore) and answers WorkerStore's calls one at a time, in the order they
 * were sent. So a write that waits for another process's lock (busy timeout) waits here, never
 * on the event loop that answers checks. `workerData` is the SqliteOptions to open with.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { SqliteStore, type SqliteOptions } from '../sqlite/sqlite-store.js';
import { toWire, type CallMessage, type HostMessage } from './protocol.js';

if (parentPort === null) throw new Error('host.ts is the store worker: start it with new Worker(), not as a program');
const port: MessagePort = parentPort;
const STORE_THREAD_NICE = 10;

function send(m: HostMessage): void {
  try {
    port.postMessage(m);
  } catch (err) {
    // A value the structured clone cannot copy (a bug in a store method): say so instead of hanging.
    if (m.type === 'reply' && m.ok) port.postMessage({ type: 'reply', id: m.id, ok: false, error: toWire(err) } satisfies HostMessage);
    else throw err;
  }
}

/** The store, or undefined after telling the calling thread why it could not be opened. */
function open(): SqliteStore | undefined {
  try {
    return new SqliteStore(workerData as SqliteOptions);
  } catch (err) {
    send({ type: 'open_failed', error: toWire(err) });
    port.close(); // nothing keeps the thread alive: it exits
    return undefined;
  }
}

/**
 * Linux: lower this thread's CPU priority (nice 10; setpriority on a thread id is per thread).
 * With the sidecar held to one core, as in a pod with a CPU limit of 1, the thread that answers
 * checks then runs first whenever both want the CPU; the store still gets what is left. Elsewhere
 * (no /proc/thread-self) the thread keeps the process's priority.
 */
function yieldToChecks(): void {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), STORE_THREAD_NICE);
  } catch {
    /* not Linux: same priority as the process */
  }
}

yieldToChecks();
const store = open();
if (store !== undefined) {
  send({ type: 'ready' });
  port.on('message', (m: CallMessage) => void answer(store, m));
}

async function answer(store: SqliteStore, m: CallMessage): Promise<void> {
  try {
    if (m.method === 'close') {
      await store.close();
      send({ type: 'reply', id: m.id, ok: true, value: undefined });
      port.close(); // nothing else keeps the thread alive: it exits
      return;
    }
    const fn = store[m.method] as (...args: readonly unknown[]) => Promise<unknown>;
    send({ type: 'reply', id: m.id, ok: true, value: await fn.apply(store, [...m.args]) });
  } catch (err) {
    send({ type: 'reply', id: m.id, ok: false, error: toWire(err) });
  }
}
