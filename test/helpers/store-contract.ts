/**
 * The SQLite store's contract, run against each way of hosting it: SqliteStore in the calling
 * thread, and WorkerStore (the same store in a worker thread, every argument and record through
 * the structured clone). Real files in a temp dir; `toEqual` on records read back means they
 * crossed unchanged.
 */
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Store } from '../../src/approvals/store/store.js';
import { approvalsContract } from './store-contract-approvals.js';
import type { StoreContext } from './store-contract-kit.js';
import { sessionsContract } from './store-contract-sessions.js';
import { stateContract } from './store-contract-state.js';
import { tempDir } from './tmp.js';

/** Registers the contract's tests for stores opened by `openStore` (a file path; parents are created). */
export function describeStoreContract(name: string, openStore: (path: string) => Promise<Store>): void {
  const dir = tempDir('ascend-store-');
  let n = 0;
  const open: Store[] = [];
  const ctx: StoreContext = {
    dir,
    openStore,
    async newStore(path = join(dir, `s${++n}`, 'nested', 'ascend.db')) {
      const s = await openStore(path);
      open.push(s);
      return s;
    },
  };
  afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });
  approvalsContract(name, ctx);
  stateContract(name, ctx);
  sessionsContract(name, ctx);
}
