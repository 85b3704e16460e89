/** A/B tests made through the API, in SQLite (ab-test-store.ts): one row per test, keyed by its name. */
import type { Database, Statement } from 'better-sqlite3';
import type { AbTestRecord } from '../ab-test-store.js';

interface AbTestRow extends Omit<AbTestRecord, 'shadow' | 'start'> {
  readonly start_at: number;
  readonly shadow: number;
}

export class AbTestsSql {
  private readonly s: Record<'insert' | 'list', Statement>;

  constructor(db: Database) {
    this.s = {
      insert: db.prepare(`INSERT INTO ab_tests (name, control_policy, test_policy, traffic_split, duration_days, start_at, shadow, created_at)
        VALUES (:name, :control_policy, :test_policy, :traffic_split, :duration_days, :start_at, :shadow, :created_at) ON CONFLICT (name) DO NOTHING`),
      list: db.prepare('SELECT * FROM ab_tests ORDER BY created_at, name'),
    };
  }

  create(t: AbTestRecord): boolean {
    const { start, shadow, ...rest } = t;
    return this.s.insert.run({ ...rest, start_at: start, shadow: shadow ? 1 : 0 }).changes === 1;
  }

  list(): AbTestRecord[] {
    return (this.s.list.all() as AbTestRow[]).map(({ start_at, shadow, ...r }) => ({ ...r, start: start_at, shadow: shadow === 1 }));
  }
}
