import { describe, expect, it } from 'vitest';
import { agentRecord } from '../../test/helpers/agent-records.js';
import { forbiddenChanges, patched, registered, type Registration } from './registration.js';

const T = 1_700_000_000_000;
const admin = { name: 'ops', admin: true };
const self = { name: 'billing', admin: false };
const sdk = (over: Partial<Registration> = {}): Registration => ({
  agent_id: 'sdk-agent', display_name: 'SDK agent', agent_type: 'supervised', environment: 'production',
  capabilities: [], allowed_resources: [], sdk_version: '2.3.0', metadata: {}, ...over,
});

describe('registered', () => {
  it('creates with the caller as owner and its trust level', () => {
    expect(registered(undefined, sdk({ capabilities: ['payments'] }), self, T)).toEqual(agentRecord({
      capabilities: ['payments'], allowed_resources: [], metadata: {}, trust_level: 'self', registered_by: 'billing', updated_by: 'billing',
    }));
    expect(registered(undefined, sdk(), admin, T)).toMatchObject({ trust_level: 'admin', registered_by: 'ops' });
  });

  it('is idempotent: the same registration again changes nothing, not even updated_at', () => {
    const first = registered(undefined, sdk(), self, T);
    expect(registered(first, sdk(), self, T + 5000)).toBe(first);
  });

  it('an agent re-registering keeps what an admin set, and updates the rest', () => {
    const byAdmin = registered(undefined, sdk({ agent_type: 'autonomous', capabilities: ['payments'] }), admin, T);
    const again = registered(byAdmin, sdk({ sdk_version: '2.5.1', capabilities: [] }), self, T + 1);
    expect(again).toMatchObject({
      agent_type: 'autonomous', capabilities: ['payments'], sdk_version: '2.5.1', trust_level: 'admin',
      registered_by: 'ops', updated_by: 'billing', created_at: T, updated_at: T + 1,
    });
  });

  it('a self-registered agent may change its own declaration; an admin takes it over', () => {
    const mine = registered(undefined, sdk(), self, T);
    expect(registered(mine, sdk({ capabilities: ['x'] }), self, T + 1)).toMatchObject({ capabilities: ['x'], trust_level: 'self' });
    expect(registered(mine, sdk({ capabilities: ['x'] }), admin, T + 1)).toMatchObject({ capabilities: ['x'], trust_level: 'admin' });
  });
});

describe('patched and forbiddenChanges', () => {
  const byAdmin = agentRecord({ trust_level: 'admin', capabilities: ['payments'] });

  it('links a model and updates described fields for the agent itself', () => {
    expect(forbiddenChanges(byAdmin, { model_id: 42, sdk_version: '2.5.1' }, self)).toEqual([]);
    expect(patched(byAdmin, { model_id: 42, sdk_version: '2.5.1' }, self, T + 1)).toMatchObject({
      model_id: 42, sdk_version: '2.5.1', capabilities: ['payments'], trust_level: 'admin', updated_by: 'billing', updated_at: T + 1,
    });
  });

  it('names the admin-owned fields an agent key would change (the same value is no change)', () => {
    expect(forbiddenChanges(byAdmin, { capabilities: ['payments'], agent_type: 'autonomous', allowed_resources: ['*'] }, self))
      .toEqual(['agent_type', 'allowed_resources']);
    expect(forbiddenChanges(agentRecord({ trust_level: 'self' }), { capabilities: ['*'] }, self)).toEqual([]);
    expect(forbiddenChanges(byAdmin, { capabilities: ['*'] }, admin)).toEqual([]);
  });

  it('an admin changing guarded fields makes the record admin-owned; a model link alone does not', () => {
    const mine = agentRecord({ trust_level: 'self' });
    expect(patched(mine, { model_id: 7 }, admin, T + 1).trust_level).toBe('self');
    expect(patched(mine, { capabilities: ['a'] }, admin, T + 1).trust_level).toBe('admin');
    expect(patched(mine, {}, admin, T + 1)).toBe(mine);
  });
});
