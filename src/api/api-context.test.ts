import { describe, expect, it } from 'vitest';
import { apiContext } from './routes/authorization.js';

const p = { name: 'bench-agent', role: 'agent' as const, groups: [], agentId: 'billing-agent' };
const spread = (context: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) => ({ ...context, ...extra, gateway: { adapter: 'api', api_key: p.name } });

describe('apiContext', () => {
  it('is the spread {...context, ...extra, gateway}: the same members, values and order', () => {
    const contexts: Array<Record<string, unknown> | undefined> = [
      undefined, {}, { environment: 'production' }, JSON.parse('{"b":1,"a":{"x":[1,2]},"2":"two","1":"one"}'),
      { gateway: 'client copy', z: 1 }, JSON.parse('{"__proto__":{"polluted":true},"k":1}'), Object.create({ inherited: 1 }, { own: { value: 2, enumerable: true } }),
    ];
    const extras = [{}, { agent_name: 'Billing agent', environment: 'staging' }, { z: 2, gateway: 'extra copy' }];
    for (const c of contexts) {
      for (const x of extras) {
        const ours = apiContext(p, c, x);
        const ref = spread(c, x);
        expect(Object.keys(ours)).toEqual(Object.keys(ref));
        expect(JSON.stringify(ours)).toBe(JSON.stringify(ref));
        expect(Object.getPrototypeOf(ours)).toBe(Object.prototype);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
