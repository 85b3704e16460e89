/**
 * `migrate`: bring the config's store to this build's schema and exit, without serving — for a
 * deploy step (a Kubernetes Job or init container) that migrates once before the replicas roll.
 * `serve` migrates at start too (under the same advisory lock), so this is optional. A database
 * newer than this build is refused (exit 1) with a message saying so.
 */
import { required, type Command } from './command.js';
import { loadConfig } from './validate-command.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: "apply the store's schema migrations (SQLite file or PostgreSQL) and exit",
  usage: '--config FILE',
  help: 'Reads store: from the config (driver sqlite or postgres; the url may come from ASCEND_STORE_URL).\nPrints the schema version before and after; exit 1 if the store cannot be reached or is newer than this build.',
  options: { config: { type: 'string', short: 'c' } },
  async run(v) {
    const path = required(v, 'config', migrateCommand);
    const rt = loadConfig(path);
    if (typeof rt === 'number') return rt;
    const s = rt.config.store;
    if (!s) {
      process.stderr.write(`${path}: no store: section, nothing to migrate\n`);
      return 1;
    }
    const { StoreError } = await import('../approvals/store/errors.js');
    try {
      if (s.driver === 'postgres') {
        const { PostgresStore } = await import('../approvals/store/postgres/postgres-store.js');
        const r = await PostgresStore.migrate({ url: rt.storeUrl!, schema: s.schema, statementTimeoutMs: s.statement_timeout_ms });
        process.stdout.write(`postgres schema "${s.schema}": version ${r.from} → ${r.to}${r.from === r.to ? ' (up to date)' : ''}\n`);
        return 0;
      }
      const { openSqliteVersions } = await import('../approvals/store/sqlite/open.js');
      const r = openSqliteVersions({ path: s.path, synchronous: s.synchronous });
      process.stdout.write(`sqlite ${s.path}: version ${r.from} → ${r.to}${r.from === r.to ? ' (up to date)' : ''}\n`);
      return 0;
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      process.stderr.write(`ascend-sidecar migrate: ${e.message}\n`);
      return 1;
    }
  },
};
