import { describe, expect, it } from 'vitest';
import { parseQuery } from '../gateway/query.js';
import { DEFAULT_REDACTION, maskUrl, maskUrlIn, Redaction } from './redact.js';

describe('Redaction.target', () => {
  it.each([
    ['/v1/x?access_token=abc&page=2', '/v1/x?access_token=[REDACTED]&page=2'],
    ['/v1/x?page=2&ApiKey=abc', '/v1/x?page=2&ApiKey=[REDACTED]'],
    ['/v1/x?TOKEN=a=b&x=1', '/v1/x?TOKEN=[REDACTED]&x=1'],
    ['/v1/x?a=1;sig=abc;b=2', '/v1/x?a=1;sig=[REDACTED];b=2'],
    ['/v1/x?access%5Ftoken=abc', '/v1/x?access%5Ftoken=[REDACTED]'],
    ['/v1/x?client_secret=1&client_secret=2', '/v1/x?client_secret=[REDACTED]&client_secret=[REDACTED]'],
    ['https://h.example/cb?code=xyz&state=s#frag?token=t', 'https://h.example/cb?code=[REDACTED]&state=s#frag?token=t'],
    ['/v1/x?X-Amz-Signature=f00&X-Amz-Date=1', '/v1/x?X-Amz-Signature=[REDACTED]&X-Amz-Date=1'],
  ])('%s → %s', (input, want) => {
    expect(DEFAULT_REDACTION.target(input)).toBe(want);
  });

  it.each([
    '/v1/orders/1',
    '/v1/x?amount=50&page=2',
    '/v1/x?token&flag',
    '/v1/x?token=',
    '/v1/x?tokens=1&mytoken=2&key2=3',
    '/v1/x?a=token&b=key',
    '/v1/x?bad%ZZkey=1',
  ])('leaves %s as it is, the same string', (input) => {
    expect(DEFAULT_REDACTION.target(input)).toBe(input);
  });

  it('adds configured keys to the built-in ones, case-insensitively', () => {
    const r = new Redaction({ query: ['Tenant_Secret'], headers: [] });
    expect(r.target('/x?tenant_secret=1&access_token=2&tenant=3')).toBe('/x?tenant_secret=[REDACTED]&access_token=[REDACTED]&tenant=3');
  });

  it('requestTarget: the parsed query\'s decoded keys decide, `;` pairs still count', () => {
    const same = '/v1/x?page=2&sort=desc';
    expect(DEFAULT_REDACTION.requestTarget(same, parseQuery('page=2&sort=desc'))).toBe(same);
    expect(DEFAULT_REDACTION.requestTarget('/v1/x?Access%5FToken=a', parseQuery('Access%5FToken=a'))).toBe('/v1/x?Access%5FToken=[REDACTED]');
    expect(DEFAULT_REDACTION.requestTarget('/v1/x?a=1;token=t', parseQuery('a=1;token=t'))).toBe('/v1/x?a=1;token=[REDACTED]');
  });

  it('is linear in the target: many pairs and many `=` are one pass', () => {
    const long = `/x?${'a=b=c&'.repeat(20_000)}token=t`;
    expect(DEFAULT_REDACTION.target(long).endsWith('token=[REDACTED]')).toBe(true);
  });
});

describe('Redaction.headers', () => {
  it('masks secret headers and the query of URL-valued headers, keeps the rest', () => {
    const r = new Redaction({ query: [], headers: ['X-Custom-Secret'] });
    expect(r.headers({
      authorization: 'Bearer a', apikey: 'k', 'x-auth-token': 't', 'x-vault-token': 'v', 'x-custom-secret': 's',
      ':path': '/v1/x?access_token=p&a=1', referer: 'https://app/?code=c', 'x-agent-id': 'billing', accept: '*/*',
    })).toEqual({
      authorization: '[REDACTED]', apikey: '[REDACTED]', 'x-auth-token': '[REDACTED]', 'x-vault-token': '[REDACTED]',
      'x-custom-secret': '[REDACTED]', ':path': '/v1/x?access_token=[REDACTED]&a=1', referer: 'https://app/?code=[REDACTED]',
      'x-agent-id': 'billing', accept: '*/*',
    });
  });

  it('a configured list never removes a built-in header', () => {
    expect(new Redaction({ query: [], headers: ['x-other'] }).headerNames).toEqual(expect.arrayContaining(['authorization', 'cookie', 'x-api-key', 'x-other']));
  });
});

describe('maskUrl', () => {
  it.each([
    ['https://hooks.slack.com/services/T000/B000/XXXXSECRET', 'https://hooks.slack.com/…'],
    ['https://user:pw@hooks.example.com:8443/x?token=abc#f', 'https://hooks.example.com:8443/…'],
    ['http://approvals.internal/', 'http://approvals.internal/'],
    ['http://approvals.internal?k=1', 'http://approvals.internal/…'],
    ['not a url', '[invalid url]'],
  ])('%s → %s', (url, want) => {
    expect(maskUrl(url)).toBe(want);
  });

  it('masks a URL quoted inside a message', () => {
    const url = 'https://hooks.slack.com/services/T000/B000/XXXXSECRET';
    expect(maskUrlIn(`fetch ${url} failed; retry ${url}`, url)).toBe('fetch https://hooks.slack.com/… failed; retry https://hooks.slack.com/…');
  });
});
