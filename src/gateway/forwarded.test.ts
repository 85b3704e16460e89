import { describe, expect, it } from 'vitest';
import { forwardedNode, parseForwarded } from './forwarded.js';

describe('Forwarded (RFC 7239)', () => {
  it('parses elements, quoted values and IPv6 nodes', () => {
    expect(parseForwarded('for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711";proto=https;host="api.example.com"')).toEqual([
      { for: '192.0.2.60', proto: 'http', by: '203.0.113.43' },
      { for: '[2001:db8:cafe::17]:4711', proto: 'https', host: 'api.example.com' },
    ]);
    expect(forwardedNode('[2001:db8:cafe::17]:4711')).toBe('2001:db8:cafe::17');
    expect(forwardedNode('192.0.2.60:80')).toBe('192.0.2.60');
    expect(forwardedNode('unknown')).toBe('unknown');
  });
  it('ignores junk and keeps commas inside quotes', () => {
    expect(parseForwarded('junk, host="a,b"')).toEqual([{}, { host: 'a,b' }]);
    expect(parseForwarded(undefined)).toEqual([]);
  });
});
