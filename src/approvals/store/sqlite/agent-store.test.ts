/**
 * The agent tables of SqliteStore on real files: registry CRUD and paging, the revision other
 * processes poll, heartbeats (newer wins), and kill-switch changes that write their command,
 * audit row and webhook only when the state changes — also across two connections at once.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentRecord, blockRecord, commandRecord, heartbeatRecord, killSwitchEffects } from '../../../../test/helpers/agent-records.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { SqliteStore } from './sqlite-store.js';

const dir = tempDir('ascend-agent-store-');
const T = 1_700_000_000_000;
let n = 0;
const open: SqliteStore[] = [];
function newStore(path = join(dir, `s${++n}.db`)): SqliteStore {
  const s = new SqliteStore({ path });
  open.push(s);
  return s;
}
afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });

describe('SqliteStore: agent registry', () => {
  it('puts, replaces, lists by id in pages, deletes with the heartbeat, and bumps the revision', async () => {
    const s = newStore();
    expect(await s.agentStateRevision()).toBe(0);
    for (const id of ['c', 'a', 'b']) await s.putAgent(agentRecord({ agent_id: id }));
    const changed = agentRecord({ agent_id: 'a', capabilities: ['x', 'y'], model_id: 7, metadata: { nested: { ok: true } } });
    await s.putAgent(changed);
    expect(await s.getAgent('a')).toEqual(changed);
    expect(await s.getAgent('nope')).toBeUndefined();
    const first = await s.listAgents({ limit: 2 });
    expect(first.items.map((a) => a.agent_id)).toEqual(['a', 'b']);
    expect((await s.listAgents({ limit: 2, cursor: first.next_cursor! })).items.map((a) => a.agent_id)).toEqual(['c']);
    await s.putHeartbeats([heartbeatRecord({ agent_id: 'a' })]);
    expect(await s.agentStateRevision()).toBe(4);
    expect(await s.deleteAgent('a')).toBe(true);
    expect(await s.deleteAgent('a')).toBe(false);
    expect([await s.getAgent('a'), await s.getHeartbeat('a'), await s.agentStateRevision()]).toEqual([undefined, undefined, 5]);
  });

  it('loads agents and blocks in one snapshot with its revision', async () => {
    const s = newStore();
    await s.putAgent(agentRecord({ agent_id: 'a' }));
    const block = blockRecord({ agent_id: 'z' });
    await s.blockAgent(block, killSwitchEffects(commandRecord({ agent_id: 'z', command_id: block.command_id })));
    expect(await s.loadAgentState()).toEqual({ revision: 2, agents: [agentRecord({ agent_id: 'a' })], blocks: [block] });
  });
});

describe('SqliteStore: heartbeats', () => {
  it('upserts in a batch, and an older heartbeat never replaces a newer one', async () => {
    const s = newStore();
    await s.putHeartbeats([heartbeatRecord({ agent_id: 'a', last_heartbeat: T + 60_000 }), heartbeatRecord({ agent_id: 'b' })]);
    await s.putHeartbeats([heartbeatRecord({ agent_id: 'a', last_heartbeat: T + 30_000, sdk_version: 'old' })]);
    expect(await s.getHeartbeat('a')).toEqual(heartbeatRecord({ agent_id: 'a', last_heartbeat: T + 60_000 }));
    await s.putHeartbeats([heartbeatRecord({ agent_id: 'a', last_heartbeat: T + 120_000, metrics: { error_rate: 0.5 } })]);
    expect(await s.getHeartbeat('a')).toMatchObject({ last_heartbeat: T + 120_000, metrics: { error_rate: 0.5 } });
    expect(await s.agentStateRevision()).toBe(0); // heartbeats change no decision
  });
});

describe('SqliteStore: kill switch and commands', () => {
  it('blocks once, lifts once, and writes command, audit row and webhook only on a change', async () => {
    const s = newStore();
    const block = blockRecord();
    const blockCmd = commandRecord({ command_id: block.command_id });
    expect(await s.blockAgent(block, killSwitchEffects(blockCmd))).toEqual({ changed: true, block });
    const again = blockRecord({ reason: 'twice' });
    expect(await s.blockAgent(again, killSwitchEffects(commandRecord({ command_id: again.command_id })))).toEqual({ changed: false, block });
    const liftCmd = commandRecord({ command_type: 'UNBLOCK', created_at: T + 10 });
    expect(await s.unblockAgent('sdk-agent', killSwitchEffects(liftCmd))).toEqual({ changed: true, block: undefined });
    expect(await s.unblockAgent('sdk-agent', killSwitchEffects(commandRecord({ command_type: 'UNBLOCK' })))).toEqual({ changed: false, block: undefined });
    expect(await s.listPendingCommands('sdk-agent', T, 10)).toEqual([blockCmd, liftCmd]);
    const events = await s.queryAudit({ limit: 10, event_type: '*' });
    expect(events.items.map((r) => [r.event_type, r.action_id])).toEqual([['agent.unblocked', liftCmd.command_id], ['agent.blocked', blockCmd.command_id]]);
    expect(await s.outboxDepth()).toBe(2);
    expect(await s.agentStateRevision()).toBe(2);
    expect((await s.loadAgentState()).blocks).toEqual([]);
  });

  it('lists pending commands that have not expired; acknowledges once, per agent', async () => {
    const s = newStore();
    const expiring = commandRecord({ expires_at: T + 1000 });
    const lasting = commandRecord({ created_at: T + 1, expires_at: null });
    await s.blockAgent(blockRecord({ command_id: expiring.command_id }), killSwitchEffects(expiring));
    await s.unblockAgent('sdk-agent', killSwitchEffects(lasting));
    expect((await s.listPendingCommands('sdk-agent', T + 1000, 10)).map((c) => c.command_id)).toEqual([lasting.command_id]);
    expect(await s.listPendingCommands('sdk-agent', T, 1)).toEqual([expiring]);
    expect(await s.acknowledgeCommand('other-agent', lasting.command_id, T + 5)).toBeUndefined();
    const acked = { ...lasting, status: 'acknowledged', acknowledged_at: T + 5 };
    expect(await s.acknowledgeCommand('sdk-agent', lasting.command_id, T + 5)).toEqual(acked);
    expect(await s.acknowledgeCommand('sdk-agent', lasting.command_id, T + 9)).toEqual(acked);
    expect(await s.listPendingCommands('sdk-agent', T, 10)).toEqual([expiring]);
  });

  it('two connections blocking the same agent at once leave one block and one command', async () => {
    const path = join(dir, 'shared.db');
    const [a, b] = [newStore(path), newStore(path)];
    const [ba, bb] = [blockRecord(), blockRecord()];
    const results = await Promise.all([
      a.blockAgent(ba, killSwitchEffects(commandRecord({ command_id: ba.command_id }))),
      b.blockAgent(bb, killSwitchEffects(commandRecord({ command_id: bb.command_id }))),
    ]);
    expect(results.map((r) => r.changed).sort()).toEqual([false, true]);
    expect(await a.listPendingCommands('sdk-agent', T, 10)).toHaveLength(1);
    expect(await b.agentStateRevision()).toBe(1);
  });
});
