import { describe, expect, it } from 'vitest';
import { hostWithPort } from './facts.js';

describe('hostWithPort', () => {
  it('puts the port back on a name, an IPv4 address and an IPv6 literal, once', () => {
    const cases: Array<[string, number | string | undefined, string]> = [
      ['api.example.com', 443, 'api.example.com:443'],
      ['10.0.0.7', '8000', '10.0.0.7:8000'],
      ['api.example.com:8443', 443, 'api.example.com:8443'],
      ['::1', 80, '[::1]:80'],
      ['fe80::1:2', 8080, '[fe80::1:2]:8080'],
      ['[::1]', 80, '[::1]:80'],
      ['[::1]:9', 80, '[::1]:9'],
      ['', 80, ''],
      ['api.example.com', undefined, 'api.example.com'],
      ['api.example.com', '', 'api.example.com'],
    ];
    for (const [host, port, expected] of cases) expect(hostWithPort(host, port), `${host} ${port}`).toBe(expected);
  });
});
