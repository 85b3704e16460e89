import { describe, expect, it } from 'vitest';
import { IssueList } from '../config/errors.js';
import type { RouteConfig } from '../config/schema.js';
import { normalize } from '../gateway/normalize.js';
import type { RawGatewayRequest } from '../gateway/request.js';
import { AgentRegistry } from './agents.js';
import { AGENT_ID_PATTERN } from '../core/action.js';
import { compileIdentity, isAgentId } from './identity.js';
import { Mapper } from './mapper.js';
import { compilePathTemplate, pathSegments } from './path-template.js';
import { compileRoute, RouteTable, type CompiledRoute } from './routes.js';
import { compileTemplate } from './template.js';

const req = (o: Partial<RawGatewayRequest>) => normalize({ adapter: 'envoy', method: 'GET', target: '/', host: 'api.local', headers: {}, ...o });

describe('path templates', () => {
  it.each<[string, string, Record<string, string> | undefined]>([
    ['/v1/refunds/{refund_id}', '/v1/refunds/r-1', { refund_id: 'r-1' }],
    ['/v1/refunds/{refund_id}', '/v1/refunds/r-1/items', undefined],
    ['/v1/refunds/{refund_id}', '/v1/refunds', undefined],
    ['/v1/orders/**', '/v1/orders', {}],
    ['/v1/orders/**', '/v1/orders/1/items', {}],
    ['/v1/orders/**', '/v1/ordersx', undefined],
    ['/v1/*/items', '/v1/a/items', {}],
    ['/**/items/{id}', '/a/b/items/7', { id: '7' }],
    ['/files/report-*.csv', '/files/report-2026.csv', {}],
    ['/', '/', {}],
  ])('%s on %s', (tpl, path, want) => {
    const t = compilePathTemplate(tpl);
    if (typeof t === 'string') throw new Error(t);
    expect(t.match(pathSegments(path))).toEqual(want);
  });

  it.each(['v1/x', '/a/**/b/**', '/a/{id}.json', '/a/x**', '/{a}/{a}'])('rejects %s', (tpl) => {
    expect(typeof compilePathTemplate(tpl)).toBe('string');
  });
});

describe('templates', () => {
  const scope = { req: req({ method: 'post', target: '/p?amount=1500&tag=a&tag=b', headers: { 'x-tenant': 'acme' } }), captures: { id: 'r1' }, agentId: 'bot' };
  const render = (s: string) => {
    const t = compileTemplate(s, new Set(['id']));
    if (typeof t === 'string') throw new Error(t);
    return t.render(scope);
  };
  it('renders captures, request facts and query/header values', () => {
    expect(render('refund/{id}')).toBe('refund/r1');
    expect(render('{method} {host}{path}')).toBe('POST api.local/p');
    expect(render('{query.amount}')).toBe('1500');
    expect(render('{query.missing}')).toBeUndefined();
    expect(render('x-{query.missing}')).toBe('x-');
    expect(render('{query.tag}')).toEqual(['a', 'b']);
    expect(render('{header.X-Tenant}/{agent_id}')).toBe('acme/bot');
    expect(render('no placeholders')).toBe('no placeholders');
  });
  it('rejects unknown placeholders', () => {
    expect(compileTemplate('{nope}', new Set())).toMatch(/unknown placeholder \{nope\}/);
  });
});

function table(routes: Partial<RouteConfig>[]): RouteTable {
  const issues = new IssueList();
  const compiled = routes.map((r, i) => compileRoute({ match: {}, resource: '{host}{path}', parameters: {}, context: {}, body: { on_invalid: 'deny' }, action_type: 'x', ...r } as RouteConfig, i, issues));
  expect(issues.items).toEqual([]);
  return new RouteTable(compiled as CompiledRoute[]);
}

describe('route table', () => {
  it('first match wins, across buckets', () => {
    const t = table([
      { name: 'catch-post', match: { methods: ['POST'] }, action_type: 'a' },
      { name: 'orders', match: { path: '/v1/orders/**' }, action_type: 'b' },
      { name: 'any-v1', match: { path: '/v1/**' }, action_type: 'c' },
    ]);
    const m = (method: string, target: string) => t.match(req({ method, target }), pathSegments(req({ target }).path))?.route.name;
    expect(m('POST', '/v1/orders/1')).toBe('catch-post');
    expect(m('GET', '/v1/orders/1')).toBe('orders');
    expect(m('GET', '/v1/other')).toBe('any-v1');
    expect(m('GET', '/v2')).toBeUndefined();
  });

  it('matches hosts (glob, port-insensitive) and headers', () => {
    const t = table([{ name: 'h', match: { hosts: ['*.internal'], headers: { 'X-Tenant': 'acme' } }, action_type: 'a' }]);
    const m = (host: string, headers: Record<string, string>) => t.match(req({ host, headers }), [])?.route.name;
    expect(m('pay.internal:8443', { 'x-tenant': 'acme' })).toBe('h');
    expect(m('pay.internal', { 'x-tenant': 'other' })).toBeUndefined();
    expect(m('pay.external', { 'x-tenant': 'acme' })).toBeUndefined();
  });
});

describe('identity', () => {
  const agents = new AgentRegistry([{ id: 'billing-agent', type: 'supervised', capabilities: [], principals: ['spiffe://corp/ns/pay/sa/billing'] }]);
  const sources = (s: Parameters<typeof compileIdentity>[0]) => {
    const issues = new IssueList();
    const out = compileIdentity(s, issues);
    expect(issues.items).toEqual([]);
    return new Mapper(new RouteTable([]), out, agents);
  };
  const jwt = (sub: unknown) => ({ 'envoy.filters.http.jwt_authn': { jwt_payload: { sub } } });
  const all = sources([{ header: 'x-agent-id' }, { jwt_claim: { namespace: 'envoy.filters.http.jwt_authn', payload_key: 'jwt_payload', claim: 'sub' } }, { principal: { trim_prefix: 'spiffe://corp/ns/agents/sa/', from: 'gateway' } }]);
  const id = (o: Partial<RawGatewayRequest>) => all.map(req(o)).input.action.agent_id;

  it('tries sources in order', () => {
    expect(id({ headers: { 'x-agent-id': 'h' }, metadata: jwt('j'), principal: 'spiffe://corp/ns/agents/sa/p' })).toBe('h');
    expect(id({ metadata: jwt('j'), principal: 'spiffe://corp/ns/agents/sa/p' })).toBe('j');
    expect(id({ principal: 'spiffe://corp/ns/agents/sa/p' })).toBe('p');
    expect(id({ principal: 'spiffe://corp/ns/pay/sa/billing' })).toBe('billing-agent');
    expect(id({ principal: 'spiffe://elsewhere/x' })).toBeNull();
    expect(id({})).toBeNull();
  });

  it('ignores headers that are not listed', () => {
    const onlyJwt = sources([{ jwt_claim: { namespace: 'envoy.filters.http.jwt_authn', payload_key: 'jwt_payload', claim: 'sub' } }]);
    expect(onlyJwt.map(req({ headers: { 'x-agent-id': 'spoofed' } })).input.action.agent_id).toBeNull();
  });

  it('refuses ambiguous or malformed ids', () => {
    expect(() => id({ headers: { 'x-agent-id': ['a', 'b'] } })).toThrowError(expect.objectContaining({ code: 'invalid_agent_id' }) as Error);
    expect(() => id({ headers: { 'x-agent-id': 'a b' } })).toThrowError(expect.objectContaining({ code: 'invalid_agent_id' }) as Error);
  });

  it('gives unmatched requests the documented default action', () => {
    const m = all.map(req({ method: 'delete', target: '/x/y?z=1', host: 'Svc.Local' }));
    expect(m.route).toBeUndefined();
    expect(m.input.action).toMatchObject({ action_type: 'http.delete', resource: 'svc.local/x/y', parameters: {} });
    expect(m.input.action.context).toEqual({ gateway: { adapter: 'envoy' } });
  });
});

describe('isAgentId', () => {
  const re = new RegExp(AGENT_ID_PATTERN);
  it('agrees with AGENT_ID_PATTERN on every UTF-16 code unit, alone and inside an id', () => {
    const differ: number[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      if (isAgentId(ch) !== re.test(ch) || isAgentId(`a${ch}b`) !== re.test(`a${ch}b`)) differ.push(c);
    }
    expect(differ).toEqual([]);
  });

  it('agrees on the length bounds, trailing newlines and surrogate pairs', () => {
    for (const v of ['', 'a'.repeat(256), 'a'.repeat(257), 'billing-agent\n', '\nbilling-agent', 'agent\u{1F600}', 'spiffe://x/y', 'a=b+c~d@e:f/g.h_i-j']) {
      expect(isAgentId(v)).toBe(re.test(v));
    }
  });
});

describe('pathSegments', () => {
  it('splits each path afresh when it changes and shares only the last one, frozen', () => {
    const a = pathSegments('/v1/orders/1');
    expect(a).toEqual(['v1', 'orders', '1']);
    expect(pathSegments('/')).toEqual([]);
    expect(pathSegments('/v1/orders/2')).toEqual(['v1', 'orders', '2']);
    const again = pathSegments('/v1/orders/2');
    expect(pathSegments('/v1/orders/2')).toBe(again);
    expect(Object.isFrozen(again)).toBe(true);
    expect(pathSegments('/v1/orders/1')).toEqual(['v1', 'orders', '1']);
  });
});
