import { describe, expect, it } from 'vitest';
import { agentRecord, blockRecord } from '../../test/helpers/agent-records.js';
import { AgentRegistry } from '../mapping/agents.js';
import { AgentDirectory, blockedDecision } from './directory.js';

describe('AgentDirectory', () => {
  it('gives registered agents a view; the config entry wins a clash', () => {
    const dir = new AgentDirectory();
    const config = new AgentRegistry([{ id: 'billing-agent', type: 'supervised', capabilities: ['payments'] }]);
    dir.setAgent(agentRecord({ agent_id: 'sdk-agent', agent_type: 'mcp_server', capabilities: ['tools'], display_name: null }));
    dir.setAgent(agentRecord({ agent_id: 'billing-agent', agent_type: 'autonomous', capabilities: [] }));
    expect(config.view('sdk-agent', dir.registered)).toEqual({ id: 'sdk-agent', registered: true, type: 'mcp_server', capabilities: ['tools'], name: undefined });
    expect(config.view('billing-agent', dir.registered)).toMatchObject({ type: 'supervised', capabilities: ['payments'] });
    expect(config.view('sdk-agent')).toMatchObject({ registered: false });
    dir.removeAgent('sdk-agent');
    expect(config.view('sdk-agent', dir.registered)).toMatchObject({ registered: false, type: undefined });
  });

  it('tells listeners when registrations change, not when blocks do', () => {
    const dir = new AgentDirectory();
    let told = 0;
    dir.onRegisteredChange(() => { told++; });
    dir.setAgent(agentRecord());
    dir.removeAgent('sdk-agent');
    dir.removeAgent('sdk-agent'); // nothing to remove
    dir.block(blockRecord());
    dir.unblock('sdk-agent');
    expect(told).toBe(2);
    dir.replace({ agents: [agentRecord({ agent_id: 'a' })], blocks: [blockRecord({ agent_id: 'b' })] });
    expect([told, [...dir.registered.keys()], [...dir.blocked.keys()]]).toEqual([3, ['a'], ['b']]);
  });

  it('answers a blocked agent denied agent_blocked with the configured status', () => {
    expect(blockedDecision(blockRecord({ agent_id: 'rogue', reason: 'leaking data' }), 403)).toMatchObject({
      decision: 'denied', code: 'agent_blocked', httpStatus: 403, policyId: null, failOpen: false,
      reason: 'agent "rogue" is blocked by the kill switch: leaking data',
    });
  });
});
