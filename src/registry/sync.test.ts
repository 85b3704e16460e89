import { describe, expect, it } from 'vitest';
import { agentRecord, blockRecord } from '../../test/helpers/agent-records.js';
import { ManualClock } from '../../test/helpers/api.js';
import type { AgentState } from '../approvals/store/agent-records.js';
import { AgentDirectory } from './directory.js';
import { DirectorySync, SYNC_INTERVAL_MS } from './sync.js';

/** A store whose state the test sets, and whose next load can be held open. */
function fakeStore(initial: AgentState) {
  let state = initial;
  let hold: Promise<void> | undefined;
  return {
    set(s: AgentState) { state = s; },
    holdNextLoad(p: Promise<void>) { hold = p; },
    agentStateRevision: async () => state.revision,
    loadAgentState: async () => {
      const snapshot = state;
      if (hold) { const h = hold; hold = undefined; await h; }
      return snapshot;
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('DirectorySync', () => {
  it('loads at start and reloads when the revision moves', async () => {
    const store = fakeStore({ revision: 1, agents: [agentRecord({ agent_id: 'a' })], blocks: [] });
    const dir = new AgentDirectory();
    const clock = new ManualClock(0);
    const sync = new DirectorySync({ store, directory: dir, timers: clock.timers });
    await sync.start();
    expect([...dir.registered.keys()]).toEqual(['a']);
    store.set({ revision: 2, agents: [], blocks: [blockRecord({ agent_id: 'z' })] });
    clock.advance(SYNC_INTERVAL_MS);
    await flush();
    expect([[...dir.registered.keys()], [...dir.blocked.keys()]]).toEqual([[], ['z']]);
    await sync.stop();
  });

  it('drops a snapshot read while this process changed the directory, and reloads next time', async () => {
    const store = fakeStore({ revision: 1, agents: [], blocks: [] });
    const dir = new AgentDirectory();
    const clock = new ManualClock(0);
    const sync = new DirectorySync({ store, directory: dir, timers: clock.timers });
    await sync.start();
    let release!: () => void;
    store.holdNextLoad(new Promise<void>((r) => { release = r; }));
    store.set({ revision: 2, agents: [], blocks: [] }); // a snapshot from before the block below
    clock.advance(SYNC_INTERVAL_MS);
    await flush();
    dir.block(blockRecord({ agent_id: 'z' })); // committed here meanwhile
    release();
    await flush();
    expect([...dir.blocked.keys()]).toEqual(['z']); // the older snapshot did not lift it
    store.set({ revision: 3, agents: [], blocks: [blockRecord({ agent_id: 'z' })] });
    clock.advance(SYNC_INTERVAL_MS);
    await flush();
    expect([...dir.blocked.keys()]).toEqual(['z']);
    await sync.stop();
  });
});
