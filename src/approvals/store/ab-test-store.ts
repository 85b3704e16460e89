/**
 * A/B tests made through `POST /api/ab-tests` (pipeline/ab-registry.ts): kept in the store so
 * they survive a restart and, on a shared PostgreSQL store, every replica runs them. The
 * config's own `ab_tests` are not stored (the config is their record). Results are counted by
 * each process in memory.
 */

import type { AbTestDef } from '../../policy/ab.js';

/**
 * A test made through the API as the store keeps it: its terms (policy/ab.ts; the name is its
 * id, unique in the store) and when it was made.
 */
export interface AbTestRecord extends Omit<AbTestDef, 'source'> {
  readonly created_at: number;
}

export interface AbTestStore {
  /** false when a test of that name is stored already (the stored one is kept). */
  createAbTest(test: AbTestRecord): Promise<boolean>;
  /** Oldest first. */
  listAbTests(): Promise<AbTestRecord[]>;
}
