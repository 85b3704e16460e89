import { describe, expect, it } from 'vitest';
import { RequestError } from '../core/errors.js';
import { canonicalHost } from './host.js';
import { DEFAULT_NORMALIZE_OPTIONS, normalize, STANDARD_METHODS } from './normalize.js';
import { parseQuery } from './query.js';
import type { RawGatewayRequest } from './request.js';

const raw = (o: Partial<RawGatewayRequest>): RawGatewayRequest => ({ adapter: 'envoy', method: 'GET', target: '/', host: 'api.local', headers: {}, ...o });

describe('canonicalHost', () => {
  it.each([
    ['API.Example.COM', 'http', 'api.example.com'],
    ['api.example.com.', 'http', 'api.example.com'],
    ['api.example.com:80', 'http', 'api.example.com'],
    ['api.example.com:443', 'https', 'api.example.com'],
    ['api.example.com:443', 'http', 'api.example.com:443'],
    ['api.example.com:8080', 'http', 'api.example.com:8080'],
    ['Api.Example.Com.:443', undefined, 'api.example.com'],
    ['[::1]:8080', 'http', '[::1]:8080'],
    ['[::1]:80', 'http', '[::1]'],
    ['', 'http', ''],
  ])('%s (%s) → %s', (h, scheme, want) => {
    expect(canonicalHost(h, scheme)).toBe(want);
  });

  it.each(['a b', 'a/b', 'evil@host', 'h:x', '[::1'])('refuses %j', (h) => {
    expect(() => canonicalHost(h, 'http')).toThrow(RequestError);
  });

  it('keeps the last answer only for the same host and scheme, never a refusal', () => {
    expect(canonicalHost('api.example.com:443', 'https')).toBe('api.example.com');
    expect(canonicalHost('api.example.com:443', 'http')).toBe('api.example.com:443');
    expect(canonicalHost('api.example.com:443', undefined)).toBe('api.example.com');
    expect(canonicalHost('Other.Example:443', 'https')).toBe('other.example');
    expect(() => canonicalHost('h:x', 'http')).toThrow(RequestError);
    expect(() => canonicalHost('h:x', 'http')).toThrow(RequestError);
    expect(canonicalHost('Other.Example:443', 'https')).toBe('other.example');
  });
});

describe('parseQuery', () => {
  it('keeps repeated keys whole and decodes', () => {
    expect(parseQuery('amount=5&amount=5000&x=a%20b&y=c+d&flag')).toEqual({ amount: ['5', '5000'], x: 'a b', y: 'c d', flag: '' });
  });
  it('keeps malformed escapes verbatim', () => {
    expect(parseQuery('a=%zz')).toEqual({ a: '%zz' });
  });
});

describe('normalize', () => {
  it('canonicalizes method, host, path, headers and keeps the raw target', () => {
    const r = normalize(raw({ method: 'post', target: '//v1/./refunds/r1?amount=10', host: 'API.local:80', headers: { 'X-Agent-Id': 'a', 'X-Multi': ['1', '2'] } }));
    expect(r).toMatchObject({
      method: 'POST',
      host: 'api.local',
      path: '/v1/refunds/r1',
      rawTarget: '//v1/./refunds/r1?amount=10',
      query: { amount: '10' },
      headers: { 'x-agent-id': 'a', 'x-multi': '1,2' },
      scheme: 'http',
    });
  });

  it('drops client-sent x-ascend-* headers and records their names for stripping upstream', () => {
    const r = normalize(raw({ headers: { 'X-Ascend-Decision': 'allowed', 'x-ascend-approval-id': 'apr_x', 'x-ascendant': 'ok', 'x-agent-id': 'a' } }));
    expect(r.headers).toEqual({ 'x-ascendant': 'ok', 'x-agent-id': 'a' });
    expect(r.clientAscendHeaders).toEqual(['x-ascend-decision', 'x-ascend-approval-id']);
  });

  it('takes the request id from x-request-id when the gateway gave none', () => {
    expect(normalize(raw({ headers: { 'x-request-id': 'abc' } })).requestId).toBe('abc');
    expect(normalize(raw({ requestId: 'from-envoy', headers: { 'x-request-id': 'abc' } })).requestId).toBe('from-envoy');
  });

  it('never takes the scheme from a client header', () => {
    expect(normalize(raw({ headers: { 'x-forwarded-proto': 'https' } })).scheme).toBe('http');
  });

  it('accepts standard methods in any case and refuses unknown ones unless configured', () => {
    expect(normalize(raw({ method: 'patch' })).method).toBe('PATCH');
    expect(() => normalize(raw({ method: 'PROPFIND' }))).toThrowError(expect.objectContaining({ code: 'invalid_method' }) as Error);
    const opts = { ...DEFAULT_NORMALIZE_OPTIONS, methods: new Set([...STANDARD_METHODS, 'PROPFIND']) };
    expect(normalize(raw({ method: 'propfind' }), opts).method).toBe('PROPFIND');
    expect(normalize(raw({ method: 'PROPFIND' }), { ...DEFAULT_NORMALIZE_OPTIONS, methods: undefined }).method).toBe('PROPFIND');
  });

  it('handles method-override headers as configured', () => {
    const r = raw({ method: 'POST', headers: { 'X-HTTP-Method-Override': 'delete' } });
    expect(normalize(r).method).toBe('POST');
    expect(normalize(r, { ...DEFAULT_NORMALIZE_OPTIONS, methodOverride: 'honor' }).method).toBe('DELETE');
    expect(() => normalize(r, { ...DEFAULT_NORMALIZE_OPTIONS, methodOverride: 'reject' })).toThrowError(expect.objectContaining({ code: 'invalid_method' }) as Error);
    expect(() => normalize(raw({ headers: { 'x-http-method': 'BREW' } }), { ...DEFAULT_NORMALIZE_OPTIONS, methodOverride: 'honor' })).toThrow(RequestError);
  });

  it.each([
    [{ method: 'GE T' }, 'invalid_method'],
    [{ method: '' }, 'invalid_method'],
    [{ target: '/a\nb' }, 'invalid_path'],
    [{ target: '/a?b=\r\n' }, 'invalid_path'],
    [{ target: '/a%2Fb' }, 'encoded_slash'],
    [{ target: '/orders#/../../admin' }, 'invalid_path'],
  ])('refuses %j with %s', (o, code) => {
    expect(() => normalize(raw(o))).toThrowError(expect.objectContaining({ code }) as Error);
  });
});

describe('normalize: stripped client x-ascend-* names', () => {
  it('a header step that throws leaves no name for the next request', () => {
    // A value that is neither a string nor an array throws in the join, after the x-ascend name was noted.
    const bad = raw({ headers: { 'x-ascend-decision': 'allowed', 'x-broken': 5 as unknown as string } });
    expect(() => normalize(bad)).toThrow();
    expect(normalize(raw({ headers: { accept: '*/*' } })).clientAscendHeaders).toEqual([]);
  });
});
