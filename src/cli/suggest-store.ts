/** `suggest --store`: the config's audit trail as observations (policy/suggest-audit.ts). */
import type { Runtime } from '../config/runtime.js';
import type { Observation } from '../policy/suggest.js';
import { readObservations } from '../policy/suggest-audit.js';
import { openStoreToRead } from './read-store.js';

/** Opens the config's store just to read it, then closes it. */
export async function auditObservations(rt: Runtime, since: number): Promise<Observation[]> {
  const store = await openStoreToRead(rt);
  try {
    return await readObservations(store, rt, since);
  } finally {
    await store.close();
  }
}
