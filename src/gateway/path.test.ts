import { describe, expect, it } from 'vitest';
import { normalize } from './normalize.js';
import { canonicalPath, PathError, queryIndex, splitTarget } from './path.js';
import type { RawGatewayRequest } from './request.js';

const RAW: RawGatewayRequest = { adapter: 'kong', method: 'GET', host: 'api.internal', target: '/', headers: {} };

describe('canonicalPath', () => {
  it.each([
    ['/', '/'],
    ['/v1/orders/1', '/v1/orders/1'],
    ['/v1/orders/1/', '/v1/orders/1'],
    ['//admin/x', '/admin/x'],
    ['/v1//orders///1', '/v1/orders/1'],
    ['/v1/orders/../../admin/x', '/admin/x'],
    ['/v1/./orders/./1', '/v1/orders/1'],
    ['/../../../etc/passwd', '/etc/passwd'],
    ['/%61dmin/x', '/admin/x'],
    ['/%41DMIN', '/ADMIN'],
    ['/v1/orders/%2e%2e/%2E%2E/admin', '/admin'],
    ['/admin;jsessionid=1/x', '/admin/x'],
    ['/admin\\x', '/admin/x'],
    ['/v1/orders\\..\\..\\admin', '/admin'],
    ['/caf%C3%A9', '/café'],
    ['/a%20b', '/a b'],
    ['/a/.', '/a'],
    ['/a/..', '/'],
    ['/100%25', '/100%25'],
    ['/a%3Bb', '/a%3Bb'],
    ['/v1/%252e%252e%252e/x', '/v1/%252e%252e%252e/x'],
    ['/v1/a%252eb', '/v1/a%252eb'],
  ])('%s → %s', (raw, want) => {
    expect(canonicalPath(raw)).toBe(want);
  });

  it.each([
    ['/admin%2Fx', 'encoded_slash'],
    ['/admin%2fx', 'encoded_slash'],
    ['/admin%5Cx', 'encoded_slash'],
    ['/admin%252Fx', 'encoded_slash'],
    ['/a%00b', 'invalid_path'],
    ['/a\u0000b', 'invalid_path'],
    ['/a\r\nb', 'invalid_path'],
    ['/a%0d%0ab', 'invalid_path'],
    ['/a%zz', 'invalid_encoding'],
    ['/a%', 'invalid_encoding'],
    ['/a%C3', 'invalid_encoding'],
    ['/a%FF', 'invalid_encoding'],
    ['/a/%C0%AF/b', 'invalid_encoding'],
    ['/v1/%252e%252e/admin', 'invalid_encoding'],
    ['/v1/%252E./admin', 'invalid_encoding'],
    ['/v1/.%252e/admin', 'invalid_encoding'],
    ['admin', 'invalid_path'],
    ['', 'invalid_path'],
  ])('%j is refused as %s', (raw, code) => {
    expect(() => canonicalPath(raw)).toThrow(PathError);
    try {
      canonicalPath(raw);
    } catch (e) {
      expect((e as PathError).code).toBe(code);
    }
  });

  it('decodes encoded slashes into separators when configured', () => {
    expect(canonicalPath('/v1%2F..%2Fadmin', { encodedSlashes: 'decode' })).toBe('/admin');
    expect(canonicalPath('/a%5Cb', { encodedSlashes: 'decode' })).toBe('/a/b');
  });

  it('is idempotent', () => {
    for (const p of ['/a//b/../c', '/%61/./b/', '/x;y/z', '/caf%C3%A9/%2e', '/a%25b', '/a%253Bb', '/a%3B']) {
      const once = canonicalPath(p);
      expect(canonicalPath(once)).toBe(once);
    }
  });
});

describe('splitTarget', () => {
  it('splits the query', () => {
    expect(splitTarget('/a/b?x=1&y=2')).toEqual({ path: '/a/b', query: 'x=1&y=2' });
    expect(splitTarget('/a?b?c')).toEqual({ path: '/a', query: 'b?c' });
    expect(splitTarget('/a')).toEqual({ path: '/a', query: '' });
  });
  it('refuses a raw fragment', () => {
    expect(() => splitTarget('/orders#/../../admin')).toThrow(PathError);
    expect(() => splitTarget('/a?x=1#f')).toThrow(PathError);
  });
});

describe('queryIndex', () => {
  it("is the first `?`, or -1", () => {
    expect([queryIndex('/a/b?x=1&y=2'), queryIndex('/a?b?c'), queryIndex('/a'), queryIndex('?')]).toEqual([4, 2, -1, 0]);
  });
  it('refuses a control character anywhere before a fragment, and a fragment anywhere', () => {
    for (const [target, message] of [
      ['/a\u0000', 'control character in request target'], ['/a?x=\u007f', 'control character in request target'],
      ['/a#f\r\n', 'control character in request target'], ['/a?x=1#f', 'fragment ("#") in request target'], ['#', 'fragment ("#") in request target'],
    ] as const) {
      expect(() => queryIndex(target), JSON.stringify(target)).toThrow(new PathError('invalid_path', message));
      // normalize() and forward-auth (splitTarget) refuse by this one rule.
      expect(() => splitTarget(target)).toThrow(message);
      expect(() => normalize({ ...RAW, target })).toThrow(message);
    }
  });
});
