import { describe, expect, it } from 'vitest';
import { IssueList } from '../config/errors.js';
import { compileGatewayAccess } from './access.js';

function compile(allowed_peers: string[], token?: string) {
  const issues = new IssueList();
  const access = compileGatewayAccess({ allowed_peers, token }, { configPath: '/etc/ascend/config.yaml' }, issues);
  expect(issues.items).toEqual([]);
  return access;
}

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

describe('compileGatewayAccess: peers', () => {
  it.each([
    [LOOPBACK, '127.0.0.1', true],
    [LOOPBACK, '127.9.9.9', true],
    [LOOPBACK, '::ffff:127.0.0.1', true],
    [LOOPBACK, '::ffff:127.0.0.2', true],
    [LOOPBACK, '::1', true],
    [LOOPBACK, '10.0.0.1', false],
    [LOOPBACK, '::ffff:10.0.0.1', false],
    [LOOPBACK, 'fe80::1', false],
    [LOOPBACK, undefined, false],
    [['10.0.0.0/8'], '127.0.0.1', false],
    [['10.0.0.0/8'], '::ffff:127.0.0.1', false],
    [['10.0.0.0/8'], '::1', false],
    [['10.0.0.0/8'], '10.244.3.7', true],
    [['10.0.0.0/8'], '::ffff:10.244.3.7', true],
    [['127.0.0.1/32'], '127.0.0.2', false],
    [['fd00::/8'], 'fd12::7', true],
    [[], '127.0.0.1', false],
  ] as const)('%j lets %s in: %s', (peers, peer, allowed) => {
    expect(compile([...peers]).deny(peer, undefined)).toBe(allowed ? undefined : 'peer_not_allowed');
  });
});

describe('compileGatewayAccess: token', () => {
  const access = compile(LOOPBACK, 'tok-123');

  it.each([
    ['the token', 'tok-123', undefined],
    ['no header', undefined, 'gateway_token_required'],
    ['an empty header', '', 'gateway_token_required'],
    ['another token', 'tok-124', 'gateway_token_required'],
    ['a prefix', 'tok-12', 'gateway_token_required'],
    ['a longer token', 'tok-1234', 'gateway_token_required'],
    ['the token twice', ['tok-123', 'tok-123'], 'gateway_token_required'],
  ] as const)('%s → %s', (_what, token, denial) => {
    expect(access.deny('127.0.0.1', token as string | string[] | undefined)).toBe(denial);
  });

  it('checks the peer first', () => {
    expect(access.deny('10.0.0.1', 'tok-123')).toBe('peer_not_allowed');
  });
});
