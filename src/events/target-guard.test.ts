import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { guardedLookup, refusedRange, targetProblem, type ResolveAll } from './target-guard.js';

/** A resolver answering from a table (ENOTFOUND for the rest). */
function resolver(table: Record<string, string[]>): ResolveAll {
  return (host, _o, cb) => {
    const list = table[host];
    if (!list) return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
    cb(null, list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
}

describe('refusedRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'], ['127.9.9.9', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'], ['fd12::1', 'private'],
    ['169.254.169.254', 'cloud metadata'], ['fd00:ec2::254', 'cloud metadata'], ['100.100.100.200', 'cloud metadata'],
    ['169.254.1.1', 'link-local'], ['fe80::1', 'link-local'], ['100.64.0.1', 'CGNAT'], ['100.127.255.254', 'CGNAT'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['224.0.0.1', 'multicast or reserved'], ['255.255.255.255', 'multicast or reserved'],
    ['64:ff9b::7f00:1', 'IPv4-embedding'], ['2002:7f00:1::', 'IPv4-embedding'],
  ])('%s is refused as %s', (address, label) => {
    expect(refusedRange(address)).toBe(label);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'])('%s is allowed', (address) => {
    expect(refusedRange(address)).toBeUndefined();
  });
});

describe('targetProblem (at creation)', () => {
  const dns = resolver({ 'hooks.example.com': ['93.184.215.14'], 'mixed.example.com': ['93.184.215.14', '10.0.0.7'], localhost: ['127.0.0.1', '::1'] });

  it.each([
    ['https://hooks.example.com/h', undefined],
    ['https://93.184.215.14/h', undefined],
    ['http://hooks.example.com/h', 'http:// is refused: webhook urls must be https://'],
    ['https://127.0.0.1:8443/h', '127.0.0.1 is a loopback address'],
    ['https://0x7f000001/h', '127.0.0.1 is a loopback address'], // WHATWG URL normalizes IPv4 shorthands
    ['https://[::1]/h', '::1 is a loopback address'],
    ['https://[::ffff:10.0.0.1]/h', '::ffff:a00:1 is a private address'],
    ['https://169.254.169.254/latest/meta-data', '169.254.169.254 is a cloud metadata address'],
    ['https://localhost/h', 'localhost resolves to 127.0.0.1, a loopback address'],
    ['https://mixed.example.com/h', 'mixed.example.com resolves to 10.0.0.7, a private address'],
    ['https://nowhere.example/h', 'nowhere.example could not be resolved (ENOTFOUND)'],
    ['not a url', 'is not a URL'],
  ])('%s → %s', async (url, problem) => {
    const got = await targetProblem(url, dns);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(problem);
  });
});

describe('guardedLookup (at delivery)', () => {
  const lookup = (table: Record<string, string[]>, all: boolean) => new Promise<{ err: Error | null; address: string | LookupAddress[] }>((ok) => {
    guardedLookup(resolver(table))('rebind.example.com', { all }, (err, address) => ok({ err, address }));
  });

  it('passes public addresses through in the form asked for', async () => {
    expect(await lookup({ 'rebind.example.com': ['93.184.215.14'] }, false)).toEqual({ err: null, address: '93.184.215.14' });
    expect(await lookup({ 'rebind.example.com': ['93.184.215.14'] }, true)).toEqual({ err: null, address: [{ address: '93.184.215.14', family: 4 }] });
  });

  it('refuses a name that now resolves to a private address (DNS rebinding)', async () => {
    const r = await lookup({ 'rebind.example.com': ['93.184.215.14', '127.0.0.1'] }, true);
    expect(r.err).toMatchObject({ name: 'TargetRefused', message: expect.stringContaining('rebind.example.com resolves to 127.0.0.1, a loopback address') });
  });
});
