import { describe, expect, it } from 'vitest';
import { CircuitBreaker, maxAgeMs, type BreakerState } from './remote.js';
import { submitBody } from './remote-key.js';

describe('CircuitBreaker', () => {
  function breaker() {
    let now = 0;
    const changes: string[] = [];
    const b = new CircuitBreaker({ failures: 3, openMs: 100, probes: 1 }, (to: BreakerState, from: BreakerState) => changes.push(`${from}>${to}`), () => now);
    return { b, changes, advance: (ms: number) => (now += ms) };
  }

  it('opens after N consecutive failures; a success in between resets the count', () => {
    const { b, changes } = breaker();
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect([b.state, b.allow(), changes]).toEqual(['open', false, ['closed>open']]);
  });

  it('lets one probe through after open_ms; its success closes, its failure reopens', () => {
    const { b, changes, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    advance(99);
    expect(b.allow()).toBe(false);
    expect(b.retryInMs).toBe(1);
    advance(1);
    expect([b.allow(), b.state, b.allow()]).toEqual([true, 'half_open', false]);
    b.failure();
    expect([b.state, b.allow()]).toEqual(['open', false]);
    advance(100);
    expect(b.allow()).toBe(true);
    b.success();
    expect([b.state, b.allow(), changes]).toEqual(['closed', true, ['closed>open', 'open>half_open', 'half_open>open', 'open>half_open', 'half_open>closed']]);
  });
});

describe('maxAgeMs', () => {
  it.each([
    [undefined, undefined], ['', undefined], ['max-age=5', 5000], ['private, max-age=60', 60_000], ['no-store', 0], ['no-cache, max-age=9', 0],
    ['public', undefined], ['s-maxage=3', undefined], [['private', 'max-age=2'], 2000],
  ] as const)('%j → %j', (header, ms) => expect(maxAgeMs(header as string | string[] | undefined)).toBe(ms));
});

describe('submitBody', () => {
  it('sends the action without context.gateway, and no agent_id for an unidentified request', () => {
    const a = { agent_id: null, action_type: 'orders.read', resource: 'orders', parameters: { n: 1 }, context: { environment: 'prod', gateway: { adapter: 'envoy', source_ip: '10.0.0.1' } } };
    expect(JSON.parse(submitBody(a))).toEqual({ action_type: 'orders.read', resource: 'orders', action_details: { n: 1 }, context: { environment: 'prod' } });
    expect(JSON.parse(submitBody({ ...a, agent_id: 'bot' })).agent_id).toBe('bot');
    // Two clients behind different addresses send the same body.
    expect(submitBody(a)).toBe(submitBody({ ...a, context: { ...a.context, gateway: { adapter: 'kong', source_ip: '10.9.9.9' } } }));
  });
});
