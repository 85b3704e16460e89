import { describe, expect, it } from 'vitest';
import { normalize } from '../../gateway/normalize.js';
import type { HeaderInput } from '../../gateway/request.js';
import { originalRequest } from './original-request.js';

const FORWARDING = ['x-original-uri', 'x-original-method', 'x-original-host', 'x-original-proto', 'x-forwarded-uri', 'x-forwarded-method', 'x-forwarded-host', 'x-forwarded-proto'];

/** The headers as the adapter passed them before it made them canonical itself (normalize then copied them). */
function copied(h: HeaderInput, host: string): HeaderInput {
  const out: HeaderInput = {};
  for (const name in h) if (!FORWARDING.includes(name)) out[name] = h[name];
  out.host = host;
  return out;
}

const call = (headers: HeaderInput) => ({
  method: 'GET', url: '/forward-auth', headers, peer: '127.0.0.1', prefix: '/forward-auth', trusted: () => true, body: undefined,
});

describe('forward-auth: the original request\'s headers', () => {
  const cases: Array<[string, HeaderInput]> = [
    ['nginx, node\'s lower-case names', { host: 'auth.local', 'x-original-uri': '/v1/a?b=1', 'x-original-method': 'POST', 'x-agent-id': 'a1', accept: '*/*' }],
    ['Traefik with its host', { 'x-forwarded-uri': '/x', 'x-forwarded-host': 'api.example', host: 'auth', 'user-agent': 'u' }],
    ['no Host at all', { 'x-original-uri': '/x', 'x-agent-id': 'a' }],
    ['repeated values and an undefined one', { 'x-original-uri': '/x', 'set-cookie': ['a=1', 'b=2'], gone: undefined, host: 'h' }],
    ['mixed-case names (not from node)', { 'x-original-uri': '/x', Host: 'h1', 'X-Agent-Id': 'a', 'x-agent-id': 'b', Accept: 'x' }],
    ['client x-ascend-* headers', { 'x-original-uri': '/x', 'x-ascend-decision': 'allowed', 'X-Ascend-Action-Id': 'z', host: 'h' }],
  ];
  it.each(cases)('%s: the same headers, and x-ascend-* stripped alike', (_name, headers) => {
    const o = originalRequest(call(headers));
    expect(o.raw.headersCanonical).toBe(true);
    const before = normalize({ ...o.raw, headers: copied(headers, o.raw.host), headersCanonical: false });
    const now = normalize(o.raw);
    expect({ ...now.headers }).toEqual({ ...before.headers });
    expect(Object.keys(now.headers)).toEqual(Object.keys(before.headers));
    expect(now.clientAscendHeaders).toEqual(before.clientAscendHeaders);
  });

  it('refuses both styles at once, and a repeated URI', () => {
    expect(() => originalRequest(call({ 'x-original-uri': '/a', 'x-forwarded-uri': '/b' }))).toThrow(/both X-Original-URI and X-Forwarded-Uri/);
    expect(() => originalRequest(call({ 'x-original-uri': '/a', 'x-forwarded-uri': '/b, /c' }))).toThrow(/x-forwarded-uri is sent more than once/);
    expect(() => originalRequest(call({ 'x-original-uri': ['/a', '/b'] }))).toThrow(/x-original-uri is sent more than once/);
  });

  it('reads host, scheme and client from Forwarded when it is sent, and from nothing when not', () => {
    const fwd = originalRequest(call({ 'x-original-uri': '/a', forwarded: 'for=10.0.0.9;proto=https;host=api.example' }));
    expect(fwd.raw).toMatchObject({ host: 'api.example', scheme: 'https', sourceIp: '10.0.0.9' });
    const plain = originalRequest(call({ 'x-original-uri': '/a', host: 'h' }));
    expect(plain.raw).toMatchObject({ host: 'h', scheme: 'http', sourceIp: '127.0.0.1' });
  });
});
