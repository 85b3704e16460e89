/**
 * The one pipeline with agents registered through the API and agents blocked by the kill
 * switch, in process (the same checks over real sockets: registry-api and kill-switch tests).
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { runtimeFromText } from '../config/runtime.js';
import type { RawGatewayRequest } from '../gateway/request.js';
import { DecisionLog } from '../observability/decision-log.js';
import { Metrics } from '../observability/metrics.js';
import { CheckPipeline } from './check.js';
import type { CheckResult } from './result.js';
import { RuntimeState } from './state.js';
import { agentRecord, blockRecord } from '../../test/helpers/agent-records.js';
import { DEFAULT_REDACTION } from '../observability/redact.js';

const CORE = readFileSync(new URL('../../examples/quickstart.yaml', import.meta.url), 'utf8');

function setup() {
  const state = new RuntimeState(runtimeFromText(CORE, 'core.yaml', 1));
  const logger = pino({ level: 'silent' });
  const p = new CheckPipeline({ state, metrics: new Metrics(new Registry(), () => 0, { defaultMetrics: false }), sinks: [DecisionLog.create(logger, { enabled: false, includeHeaders: false, redaction: () => DEFAULT_REDACTION })], logger });
  const sync = (r: CheckResult | Promise<CheckResult>): CheckResult => {
    if (r instanceof Promise) throw new Error('expected a synchronous check');
    return r;
  };
  const refund = (agent: string): RawGatewayRequest => ({
    adapter: 'envoy', method: 'POST', target: '/v1/refunds/r-1?amount=50', host: 'api.example.com',
    headers: { ':authority': 'api.example.com', 'x-agent-id': agent },
  });
  return {
    state,
    gateway: (agent: string) => sync(p.check(refund(agent))),
    api: (agent: string) => sync(p.checkAction({ agent_id: agent, action_type: 'payments.refund', resource: 'refund/r-1', parameters: { amount: 50 }, context: {} })),
  };
}

describe('registered agents in the pipeline', () => {
  it('a registration changes the decision at once, on gateway and API paths, past the cache', () => {
    const s = setup();
    expect([s.gateway('sdk-agent').decision.code, s.api('sdk-agent').decision.code]).toEqual(['default_deny', 'default_deny']);
    expect(s.gateway('sdk-agent').cacheHit).toBe(true);
    s.state.agents.setAgent(agentRecord({ agent_id: 'sdk-agent', agent_type: 'supervised' }));
    const after = s.gateway('sdk-agent');
    expect([after.decision.decision, after.decision.policyId, after.cacheHit]).toEqual(['allowed', 'pol_refund_small', false]);
    expect(s.api('sdk-agent').decision.policyId).toBe('pol_refund_small');
    s.state.agents.setAgent(agentRecord({ agent_id: 'sdk-agent', agent_type: 'autonomous' }));
    expect(s.gateway('sdk-agent').decision.decision).toBe('denied');
  });

  it('the config entry wins over a registration of the same id', () => {
    const s = setup();
    s.state.agents.setAgent(agentRecord({ agent_id: 'crawler', agent_type: 'supervised' })); // config: autonomous
    expect(s.gateway('crawler').decision.decision).toBe('denied');
  });
});

describe('blocked agents in the pipeline', () => {
  it('denies agent_blocked before the cache on every entry, and allows again after the lift', () => {
    const s = setup();
    expect(s.gateway('billing-agent').decision.decision).toBe('allowed');
    expect(s.gateway('billing-agent').cacheHit).toBe(true);
    s.state.agents.block(blockRecord({ agent_id: 'billing-agent', reason: 'compromised' }));
    for (const r of [s.gateway('billing-agent'), s.api('billing-agent')]) {
      expect([r.decision.decision, r.decision.code, r.decision.httpStatus, r.cacheHit]).toEqual(['denied', 'agent_blocked', 403, false]);
      expect(r.decision.reason).toContain('compromised');
    }
    expect(s.gateway('crawler').decision.code).not.toBe('agent_blocked');
    s.state.agents.unblock('billing-agent');
    expect([s.gateway('billing-agent').decision.decision, s.gateway('billing-agent').cacheHit]).toEqual(['allowed', true]);
  });
});
