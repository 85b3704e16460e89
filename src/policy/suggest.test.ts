import { describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../config/schema.js';
import { codeOfAuditRow, suggest, type Observation } from './suggest.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');
const obs = (o: Partial<Observation>, n = 1, step = 60_000): Observation[] =>
  Array.from({ length: n }, (_, i) => ({ ts: T0 + i * step, agent_id: 'a1', action_type: 'x.read', decision: 'allowed', code: 'policy_allow', policy_id: 'pol_x', risk_score: 10, ...o }));
const policy = (p: Partial<PolicyConfig>): PolicyConfig => ({ id: 'p', name: '', priority: 0, enabled: true, mode: 'enforce', conditions: {}, action: 'allow', ...p });

describe('suggest', () => {
  it('frequent default denials → an explicit deny, with evidence', () => {
    const s = suggest(obs({ decision: 'denied', code: 'default_deny', policy_id: null, action_type: 'db.drop' }, 6));
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({
      kind: 'frequent_denial', action_type: 'db.drop', agent_id: 'a1',
      suggested_policy: { action: 'deny', conditions: { action_type: 'db.drop', agent_id: 'a1' } },
      evidence: { count: 6, since: '2026-11-01T00:00:00.000Z', until: '2026-11-01T00:05:00.000Z' },
    });
    expect(suggest(obs({ decision: 'denied', code: 'default_deny', policy_id: null }, 4))).toEqual([]);
  });

  it('always approved → allow outranking the approval policy; one human denial vetoes it', () => {
    const policies = [policy({ id: 'pol_refund', priority: 80, action: 'require_approval', approvers: ['f'] })];
    const granted = obs({ code: 'approval_granted', policy_id: 'pol_refund', action_type: 'payments.refund' }, 5);
    expect(suggest(granted, { policies })[0]).toMatchObject({ kind: 'always_approved', suggested_policy: { action: 'allow', priority: 81 }, evidence: { count: 5, approved: 5, denied: 0 } });
    expect(suggest([...granted, ...obs({ code: 'approval_denied', decision: 'denied', policy_id: 'pol_refund', action_type: 'payments.refund' })], { policies })).toEqual([]);
  });

  it('allow policies that decided nothing → disable them', () => {
    const policies = [policy({ id: 'pol_x' }), policy({ id: 'pol_unused', conditions: { action_type: 'y.write' } }), policy({ id: 'pol_deny', action: 'deny' })];
    const s = suggest(obs({}, 3), { policies });
    expect(s).toEqual([expect.objectContaining({ kind: 'unused_allow', action_type: 'y.write', suggested_policy: expect.objectContaining({ id: 'pol_unused', enabled: false }) })]);
    expect(suggest([], { policies })).toEqual([]);
  });

  it('an agent whose volume jumps over its own history → flag it', () => {
    const history = [0, 1, 2, 3].flatMap((d) => obs({ ts: T0 + d * DAY }, 10 + (d % 2), 1000).map((o, i) => ({ ...o, ts: T0 + d * DAY + i * 1000 })));
    const spike = obs({}, 60, 1000).map((o, i) => ({ ...o, ts: T0 + 4 * DAY + i * 1000 }));
    const s = suggest([...history, ...spike]);
    expect(s).toEqual([expect.objectContaining({ kind: 'agent_anomaly', agent_id: 'a1', suggested_policy: expect.objectContaining({ action: 'flag' }), evidence: expect.objectContaining({ count: 60, history_days: 4 }) })]);
    const steady = [0, 1, 2, 3, 4].flatMap((d) => obs({}, 10, 1000).map((o, i) => ({ ...o, ts: T0 + d * DAY + i * 1000 })));
    expect(suggest(steady)).toEqual([]);
  });

  it('recovers codes from stored audit rows', () => {
    const policies = [policy({ id: 'pa', action: 'require_approval', approvers: ['x'] }), policy({ id: 'pd', action: 'deny' })];
    expect(codeOfAuditRow({ decision: 'allowed', policy_id: 'pa' }, policies)).toBe('approval_granted');
    expect(codeOfAuditRow({ decision: 'denied', policy_id: 'pa' }, policies)).toBe('approval_denied');
    expect(codeOfAuditRow({ decision: 'denied', policy_id: 'pd' }, policies)).toBe('policy_deny');
    expect(codeOfAuditRow({ decision: 'denied', policy_id: null }, policies)).toBe('default_deny');
  });
});
