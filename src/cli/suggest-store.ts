/** `suggest --store`: the config's audit trail as observations (policy/suggest-audit.ts). */
import pino from 'pino';
import type { Runtime } from '../config/runtime.js';
import type { Store } from '../approvals/store/store.js';
import type { Observation } from '../policy/suggest.js';
import { readObservations } from '../policy/suggest-audit.js';

/** Opens the config's store (SQLite file or PostgreSQL) just to read it, then closes it. */
export async function auditObservations(rt: Runtime, since: number): Promise<Observation[]> {
  const c = rt.config.store!;
  const log = pino({ level: 'silent' });
  let store: Store;
  if (c.driver === 'postgres') {
    const { PostgresStore } = await import('../approvals/store/postgres/postgres-store.js');
    store = await PostgresStore.open({ url: rt.storeUrl!, poolMax: 2, statementTimeoutMs: c.statement_timeout_ms, schema: c.schema, log });
  } else {
    const { WorkerStore } = await import('../approvals/store/worker/worker-store.js');
    store = await WorkerStore.open({ path: c.path, synchronous: c.synchronous, log });
  }
  try {
    return await readObservations(store, rt, since);
  } finally {
    await store.close();
  }
}
