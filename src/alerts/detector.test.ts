import { describe, expect, it } from 'vitest';
import type { AlertsConfig } from '../config/schema.js';
import type { CheckResult } from '../pipeline/result.js';
import { AlertDetector } from './detector.js';

const result = (agent: string, decision: 'allowed' | 'denied', riskScore = 10) =>
  ({ adapter: 'envoy', actionId: 'a', action: { agent_id: agent, action_type: 't', resource: 'r', parameters: {}, context: {} }, decision: { decision, riskScore, policyId: null } }) as unknown as CheckResult;

function detector(config: Partial<AlertsConfig>) {
  let t = 0;
  const sent: Record<string, unknown>[] = [];
  const d = new AlertDetector({
    publish: async (data) => { sent.push(data); },
    config: () => ({ cooldown_seconds: 60, max_agents: 3, ...config }),
    now: () => t, log: { info() {}, warn() {}, error() {} },
  });
  return { d, sent, advance: (ms: number) => { t += ms; } };
}

describe('AlertDetector', () => {
  it('fires risk_threshold at or above the threshold, once per cooldown per agent', () => {
    const { d, sent, advance } = detector({ risk_threshold: 80 });
    d.record(result('a', 'allowed', 79));
    d.record(result('a', 'allowed', 80));
    d.record(result('a', 'allowed', 95));
    d.record(result('b', 'allowed', 90));
    advance(60_000);
    d.record(result('a', 'allowed', 90));
    expect(sent.map((s) => [s.rule, s.agent_id, s.risk_score])).toEqual([['risk_threshold', 'a', 80], ['risk_threshold', 'b', 90], ['risk_threshold', 'a', 90]]);
  });

  it('fires repeated_denials for count denials inside the window only', () => {
    const { d, sent, advance } = detector({ repeated_denials: { count: 3, window_seconds: 10 } });
    d.record(result('a', 'denied'));
    d.record(result('a', 'denied'));
    advance(10_000); // the first two fall out of the window
    d.record(result('a', 'denied'));
    d.record(result('a', 'allowed'));
    d.record(result('a', 'denied'));
    expect(sent).toEqual([]);
    d.record(result('a', 'denied'));
    expect(sent).toMatchObject([{ rule: 'repeated_denials', agent_id: 'a', count: 3, window_seconds: 10 }]);
  });

  it('keeps state for at most max_agents, forgetting the least recently seen', () => {
    const { d } = detector({ repeated_denials: { count: 2, window_seconds: 60 } });
    for (const a of ['a', 'b', 'c', 'd', 'e']) d.record(result(a, 'denied'));
    expect(d.tracked).toBe(3);
    d.record(result('a', 'allowed', 10)); // nothing to track: no state created
    expect(d.tracked).toBe(3);
  });
});
