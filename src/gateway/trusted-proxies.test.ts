import { describe, expect, it } from 'vitest';
import { IssueList } from '../config/errors.js';
import { compileTrustedProxies } from './trusted-proxies.js';

const AT = ['forward_auth', 'trusted_proxies'];

describe('compileTrustedProxies', () => {
  const issues = new IssueList();
  const trusted = compileTrustedProxies(['127.0.0.1/8', '::1/128', '10.0.0.0/8', 'fe80::/10', '192.168.1.7'], issues, AT);

  it.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::ffff:127.0.0.1', true], // IPv4 peer on a dual-stack socket
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['10.9.8.7', true],
    ['fe80::1%eth0', true],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['11.0.0.1', false],
    ['::2', false],
    ['0x7f.1', false], // shorthand IPv4 forms are not addresses here
    ['', false],
    ['junk', false],
    [undefined, false],
  ])('%s → %s', (addr, want) => {
    expect(trusted(addr)).toBe(want);
  });

  it('reports every bad entry with its path', () => {
    const bad = new IssueList();
    const none = compileTrustedProxies(['bad', '1.2.3.4/33', '10.0.0.0/8', '::1/129', '10.0.0.0/x'], bad, AT);
    expect(bad.items.map((i) => i.path)).toEqual([
      'forward_auth.trusted_proxies[0]',
      'forward_auth.trusted_proxies[1]',
      'forward_auth.trusted_proxies[3]',
      'forward_auth.trusted_proxies[4]',
    ]);
    expect(none('10.1.1.1')).toBe(true);
    expect(issues.items).toEqual([]);
  });

  it('an empty list trusts nobody', () => {
    expect(compileTrustedProxies([], new IssueList(), AT)('127.0.0.1')).toBe(false);
  });

  it('gives the same verdicts when asked again, past its memo size', () => {
    const t = compileTrustedProxies(['10.0.0.0/8'], new IssueList(), AT);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 1500; i++) {
        expect(t(`10.0.${i >> 8}.${i & 255}`)).toBe(true);
        expect(t(`11.0.${i >> 8}.${i & 255}`)).toBe(false);
      }
      expect(t('0x0a.1.1.1')).toBe(false);
    }
  });
});
