import { describe, expect, it } from 'vitest';
import type { RequestView } from '../core/action.js';
import { factsRead, formatFacts, ForwardedFacts, parseFacts, requestFromFacts } from './request-facts.js';

const req: RequestView = {
  method: 'POST', path: '/v1/orders/1', host: 'api.example.com', scheme: 'https', sourceIp: '10.0.0.7', principal: undefined,
  headers: { 'x-tenant': 'acme', 'x-request-id': 'r-1' }, query: { region: ['eu', 'us'] },
};

describe('request facts', () => {
  it('names what request.* conditions read, header and query names folded to lower case', () => {
    expect(factsRead(['request.headers.X-Tenant', 'request.method', 'parameters.amount', 'request.query.Region', 'request.method'])).toEqual(['headers.x-tenant', 'method', 'query.region']);
    expect(formatFacts([])).toBe('none');
    expect(parseFacts('none')).toEqual([]);
    expect(parseFacts('method, headers.x-tenant,bogus')).toEqual(['headers.x-tenant', 'method']);
    expect(parseFacts(undefined)).toBeUndefined();
  });

  it('forwards exactly the facts named, and the control plane reads back the same view', () => {
    const facts = ['headers.x-tenant', 'method', 'principal', 'query.region', 'source_ip'];
    const json = new ForwardedFacts(facts).json(req);
    expect(json).not.toContain('x-request-id');
    expect(JSON.parse(json)).toEqual({ facts, method: 'POST', source_ip: '10.0.0.7', headers: { 'x-tenant': 'acme' }, query: { region: ['eu', 'us'] } });
    const back = requestFromFacts(JSON.parse(json));
    expect(back?.request).toMatchObject({ method: 'POST', sourceIp: '10.0.0.7', principal: undefined, headers: { 'x-tenant': 'acme' }, query: { region: ['eu', 'us'] } });
    expect([...(back?.sent ?? [])]).toEqual(facts);
  });

  it('a view another edge forwarded lists only the facts it carried', () => {
    const back = requestFromFacts({ facts: ['method'], method: 'GET' });
    expect(new ForwardedFacts(['headers.x-tenant', 'method']).json(back!.request)).toBe('{"facts":["method"],"method":"GET"}');
  });

  it('refuses what is not a facts object; drops values of the wrong type', () => {
    for (const bad of [null, 'x', [], { facts: 'method' }, { facts: [1] }]) expect(requestFromFacts(bad)).toBeUndefined();
    const r = requestFromFacts({ facts: ['method', 'headers.a'], method: 7, headers: { A: 'x', b: 1 } });
    expect(r?.request.method).toBe('');
    expect({ ...r?.request.headers }).toEqual({ a: 'x' });
  });

  it('compiled once per list: the JSON of each view, and values that tell the views apart', () => {
    const names = ['headers.x-tenant', 'method', 'principal', 'query.region', 'source_ip'];
    const f = new ForwardedFacts(names);
    const head = '{"facts":["headers.x-tenant","method","principal","query.region","source_ip"]';
    expect(f.json(req)).toBe(`${head},"method":"POST","source_ip":"10.0.0.7","headers":{"x-tenant":"acme"},"query":{"region":["eu","us"]}}`);
    expect(f.json({ ...req, headers: {} })).toBe(`${head},"method":"POST","source_ip":"10.0.0.7","query":{"region":["eu","us"]}}`);
    expect(f.json({ ...req, method: 'GET', query: {} })).toBe(`${head},"method":"GET","source_ip":"10.0.0.7","headers":{"x-tenant":"acme"}}`);
    expect(f.json(requestFromFacts({ facts: ['method'], method: 'GET' })!.request)).toBe('{"facts":["method"],"method":"GET"}');
    const values = (v: RequestView) => {
      const out: unknown[] = [];
      f.values(v, out);
      return out;
    };
    expect(values(req)).toEqual(['acme', 'POST', null, ['eu', 'us'], '10.0.0.7']);
    expect(values({ ...req, headers: {} })).toEqual([null, 'POST', null, ['eu', 'us'], '10.0.0.7']);
    expect(new ForwardedFacts([]).json(req)).toBe('{"facts":[]}');
  });
});
