import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprintAction } from './fingerprint.js';

const base = { agent_id: 'billing-agent', action_type: 'payment.create', resource: 'stripe:charges', parameters: { amount: 5000, currency: 'usd', meta: { a: 1, b: [2, { d: 1, c: 2 }] } } };

describe('fingerprintAction', () => {
  it('ignores key order at every depth', () => {
    const reordered = { resource: base.resource, parameters: { meta: { b: [2, { c: 2, d: 1 }], a: 1 }, currency: 'usd', amount: 5000 }, action_type: base.action_type, agent_id: base.agent_id };
    expect(fingerprintAction(reordered)).toBe(fingerprintAction(base));
    expect(fingerprintAction(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['agent', { agent_id: 'other-agent' }],
    ['action type', { action_type: 'payment.refund' }],
    ['resource', { resource: 'stripe:refunds' }],
    ['parameters', { parameters: { ...base.parameters, amount: 5001 } }],
    ['array order', { parameters: { ...base.parameters, meta: { a: 1, b: [{ d: 1, c: 2 }, 2] } } }],
  ])('changes with the %s', (_what, change) => {
    expect(fingerprintAction({ ...base, ...change })).not.toBe(fingerprintAction(base));
  });

  it('does not confuse field boundaries', () => {
    expect(fingerprintAction({ agent_id: 'a:b', action_type: 'c', resource: 'd' }))
      .not.toBe(fingerprintAction({ agent_id: 'a', action_type: 'b:c', resource: 'd' }));
  });

  it('treats missing parameters as {}', () => {
    expect(fingerprintAction({ ...base, parameters: undefined })).toBe(fingerprintAction({ ...base, parameters: {} }));
  });

  it('canonicalJson follows JSON for odd values', () => {
    expect(canonicalJson({ b: undefined, a: NaN, d: new Date(0) })).toBe('{"a":null,"d":"1970-01-01T00:00:00.000Z"}');
  });
});
