/**
 * The store contract, part 3: the agent registry (CRUD, paging, the revision other processes
 * poll), heartbeats (newer wins), the kill switch and command queues (effects written only on a
 * change, also from two stores at once), audit events beside decisions, and the webhook
 * subscriptions made through the API.
 */
import { describe, expect, it } from 'vitest';
import type { NewWebhook } from '../../src/approvals/store/records.js';
import { agentRecord, blockRecord, commandRecord, heartbeatRecord, killSwitchEffects } from './agent-records.js';
import { auditRow } from './records.js';
import { T, type StoreContext } from './store-contract-kit.js';

export function agentsContract(name: string, { newStore }: StoreContext): void {
  describe(`${name}: agent registry`, () => {
    it('puts, replaces, lists by id in pages, deletes with the heartbeat, and bumps the revision', async () => {
      const s = await newStore();
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
      const s = await newStore();
      await s.putAgent(agentRecord({ agent_id: 'a' }));
      const block = blockRecord({ agent_id: 'z' });
      await s.blockAgent(block, killSwitchEffects(commandRecord({ agent_id: 'z', command_id: block.command_id })));
      expect(await s.loadAgentState()).toEqual({ revision: 2, agents: [agentRecord({ agent_id: 'a' })], blocks: [block] });
    });
  });

  describe(`${name}: heartbeats`, () => {
    it('upserts in a batch, and an older heartbeat never replaces a newer one', async () => {
      const s = await newStore();
      await s.putHeartbeats([heartbeatRecord({ agent_id: 'a', last_heartbeat: T + 60_000 }), heartbeatRecord({ agent_id: 'b' })]);
      await s.putHeartbeats([heartbeatRecord({ agent_id: 'a', last_heartbeat: T + 30_000, sdk_version: 'old' })]);
      expect(await s.getHeartbeat('a')).toEqual(heartbeatRecord({ agent_id: 'a', last_heartbeat: T + 60_000 }));
      await s.putHeartbeats([heartbeatRecord({ agent_id: 'a', last_heartbeat: T + 120_000, metrics: { error_rate: 0.5 } })]);
      expect(await s.getHeartbeat('a')).toMatchObject({ last_heartbeat: T + 120_000, metrics: { error_rate: 0.5 } });
      // One batch naming an agent twice keeps the newer of the two.
      await s.putHeartbeats([heartbeatRecord({ agent_id: 'b', last_heartbeat: T + 9 }), heartbeatRecord({ agent_id: 'b', last_heartbeat: T + 5 })]);
      expect((await s.getHeartbeat('b'))?.last_heartbeat).toBe(T + 9);
      expect(await s.agentStateRevision()).toBe(0); // heartbeats change no decision
    });
  });

  describe(`${name}: kill switch and commands`, () => {
    it('blocks once, lifts once, and writes command, audit row and webhook only on a change', async () => {
      const s = await newStore();
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
      const s = await newStore();
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

    it('two stores blocking the same agent at once leave one block and one command', async () => {
      const [a, b] = [await newStore('shared-block'), await newStore('shared-block')];
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

  describe(`${name}: audit events beside decisions`, () => {
    it('keeps decision queries to decisions; event_type selects events, * selects all', async () => {
      const s = await newStore();
      const blocked = auditRow({
        ts: T + 1, event_type: 'agent.blocked', actor: 'ops', action_id: 'cmd_1', adapter: 'api', agent_id: 'rogue',
        action_type: 'agent.kill_switch', resource: 'agent/rogue', decision: 'denied', policy_id: null, risk_score: null,
        cache_hit: false, latency_us: 0, reason: 'exfiltration', details: { command_id: 'cmd_1', reason: 'exfiltration' },
      });
      const decision = auditRow({ ts: T, agent_id: 'rogue' });
      await s.appendAudit([decision, blocked]);
      expect((await s.queryAudit({ limit: 10 })).items).toEqual([{ ...decision, id: 1 }]);
      expect((await s.queryAudit({ limit: 10, agent_id: 'rogue' })).items.map((r) => r.id)).toEqual([1]);
      expect((await s.queryAudit({ limit: 10, event_type: 'agent.blocked' })).items).toEqual([{ ...blocked, id: 2 }]);
      expect((await s.queryAudit({ limit: 10, event_type: '*' })).items.map((r) => r.event_type)).toEqual(['agent.blocked', 'decision']);
      expect(await s.countAudit({ event_type: '*', agent_id: 'rogue' })).toBe(2);
    });
  });

  describe(`${name}: webhook subscriptions`, () => {
    const hook = (url: string, over: Partial<NewWebhook> = {}): NewWebhook => ({
      url, events: ['action.pending', 'policy.violation'], secret: 's3cret', agent_id: null, format: 'ascend', created_by: 'ops', created_at: T, ...over,
    });

    it('creates with sequential wh_ ids, lists oldest first and reads one back', async () => {
      const s = await newStore();
      const a = await s.createWebhook(hook('https://a.example/h', { agent_id: 'billing-agent' }));
      const b = await s.createWebhook(hook('https://b.example/h'));
      expect(a).toEqual({ ok: true, webhook: { ...hook('https://a.example/h', { agent_id: 'billing-agent' }), webhook_id: 'wh_1', updated_at: T } });
      expect(b.ok && b.webhook.webhook_id).toBe('wh_2');
      expect((await s.listWebhooks()).map((w) => w.url)).toEqual(['https://a.example/h', 'https://b.example/h']);
      expect(await s.getWebhook('wh_2')).toMatchObject({ url: 'https://b.example/h', events: ['action.pending', 'policy.violation'] });
    });

    it('keeps urls unique on create and on update', async () => {
      const s = await newStore();
      await s.createWebhook(hook('https://a.example/h'));
      await s.createWebhook(hook('https://b.example/h'));
      expect(await s.createWebhook(hook('https://a.example/h'))).toEqual({ ok: false, error: 'url_taken' });
      expect(await s.updateWebhook('wh_2', { url: 'https://a.example/h' }, T + 1)).toEqual({ ok: false, error: 'url_taken' });
      expect((await s.listWebhooks()).length).toBe(2);
    });

    it('updates only the fields given and stamps updated_at', async () => {
      const s = await newStore();
      await s.createWebhook(hook('https://a.example/h'));
      const r = await s.updateWebhook('wh_1', { events: ['action.denied'] }, T + 5);
      expect(r).toEqual({ ok: true, webhook: expect.objectContaining({ url: 'https://a.example/h', events: ['action.denied'], secret: 's3cret', created_at: T, updated_at: T + 5 }) });
      const r2 = await s.updateWebhook('wh_1', { url: 'https://c.example/h', secret: 'new' }, T + 6);
      expect(r2.ok && [r2.webhook.url, r2.webhook.secret, r2.webhook.events]).toEqual(['https://c.example/h', 'new', ['action.denied']]);
    });

    it('keeps each subscription\'s format; an update changes it only when given', async () => {
      const s = await newStore();
      await s.createWebhook(hook('https://hooks.slack.example/T0/B0', { format: 'slack' }));
      expect(await s.getWebhook('wh_1')).toMatchObject({ format: 'slack' });
      const r = await s.updateWebhook('wh_1', { events: ['action.denied'] }, T + 5);
      expect(r.ok && r.webhook.format).toBe('slack');
      const r2 = await s.updateWebhook('wh_1', { format: 'servicenow' }, T + 6);
      expect(r2.ok && [r2.webhook.format, r2.webhook.events]).toEqual(['servicenow', ['action.denied']]);
      expect((await s.listWebhooks()).map((w) => w.format)).toEqual(['servicenow']);
    });

    it('deletes, never reuses an id, and answers not found for unknown or foreign ids', async () => {
      const s = await newStore('reuse');
      await s.createWebhook(hook('https://a.example/h'));
      expect(await s.deleteWebhook('wh_1')).toBe(true);
      expect(await s.deleteWebhook('wh_1')).toBe(false);
      await s.close();
      const again = await newStore('reuse');
      const c = await again.createWebhook(hook('https://a.example/h'));
      expect(c.ok && c.webhook.webhook_id).toBe('wh_2');
      for (const id of ['wh_1', 'wh_01', 'wh_x', '2', 'cfg_abc', `wh_${'9'.repeat(20)}`]) {
        expect(await again.getWebhook(id)).toBeUndefined();
        expect(await again.updateWebhook(id, { secret: 'x' }, T)).toEqual({ ok: false, error: 'not_found' });
        expect(await again.deleteWebhook(id)).toBe(false);
      }
    });
  });
}
