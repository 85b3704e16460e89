/**
 * A/B tests made through the API, in PostgreSQL (ab-test-store.ts). A new one is announced to
 * the fleet (`ab_tests`); the replicas also re-read every few seconds (pipeline/ab-sync.ts).
 */
import type pg from 'pg';
import type { AbTestRecord } from '../ab-test-store.js';
import type { NotifyTarget } from './db.js';
import { fleetPayload } from './fleet.js';

interface AbTestRow extends Omit<AbTestRecord, 'start'> {
  readonly start_at: number;
}

export class AbTestsPg {
  constructor(private readonly pool: pg.Pool, private readonly n: NotifyTarget) {}

  /** The NOTIFY rides on the INSERT: sent at commit, only when a row went in. */
  async create(t: AbTestRecord): Promise<boolean> {
    const r = await this.pool.query(`WITH x AS (
        INSERT INTO ab_tests (name, control_policy, test_policy, traffic_split, duration_days, start_at, shadow, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING RETURNING 1)
      SELECT pg_notify($9, $10) FROM x`,
    [t.name, t.control_policy, t.test_policy, t.traffic_split, t.duration_days, t.start, t.shadow, t.created_at, this.n.channel, fleetPayload(this.n.instanceId, 'ab_tests')]);
    return (r.rowCount ?? 0) === 1;
  }

  async list(): Promise<AbTestRecord[]> {
    const r = await this.pool.query<AbTestRow>(`SELECT name, control_policy, test_policy, traffic_split, duration_days, start_at, shadow, created_at
      FROM ab_tests ORDER BY created_at, name`);
    return r.rows.map(({ start_at, ...t }) => ({ ...t, start: start_at }));
  }
}
