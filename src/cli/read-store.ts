/** The config's store (SQLite file or PostgreSQL), opened by a CLI command only to read it. */
import pino from 'pino';
import type { Runtime } from '../config/runtime.js';
import type { Store } from '../approvals/store/store.js';

export async function openStoreToRead(rt: Runtime): Promise<Store> {
  const c = rt.config.store!;
  const log = pino({ level: 'silent' });
  if (c.driver === 'postgres') {
    const { PostgresStore } = await import('../approvals/store/postgres/postgres-store.js');
    return PostgresStore.open({ url: rt.storeUrl!, poolMax: 2, statementTimeoutMs: c.statement_timeout_ms, schema: c.schema, log });
  }
  const { WorkerStore } = await import('../approvals/store/worker/worker-store.js');
  return WorkerStore.open({ path: c.path, synchronous: c.synchronous, log });
}
