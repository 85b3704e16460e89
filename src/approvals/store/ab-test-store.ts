/**
 * A/B tests made through `POST /api/ab-tests` (pipeline/ab-registry.ts): kept in the store so
 * they survive a restart and, on a shared PostgreSQL store, every replica runs them. The
 * config's own `ab_tests` are not stored (the config is their record). Results are counted by
 * each process in memory.
 */

export interface AbTestRecord {
  /** The test's id, unique in the store. */
  readonly name: string;
  readonly control_policy: string;
  readonly test_policy: string;
  /** Percent (0–100) of the test's traffic that gets the test policy. */
  readonly traffic_split: number;
  readonly duration_days: number;
  /** Epoch ms. */
  readonly start: number;
  readonly shadow: boolean;
  readonly created_at: number;
}

export interface AbTestStore {
  /** false when a test of that name is stored already (the stored one is kept). */
  createAbTest(test: AbTestRecord): Promise<boolean>;
  /** Oldest first. */
  listAbTests(): Promise<AbTestRecord[]>;
}
