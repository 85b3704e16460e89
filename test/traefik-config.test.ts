/**
 * deploy/traefik/dynamic.yml cannot run here (no Traefik): check that it parses and points
 * Traefik's ForwardAuth at the sidecar's defaults (HTTP port, forward_auth.path), copies the
 * headers the sidecar sets, and never trusts client X-Forwarded-* headers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runtimeFromText } from '../src/config/runtime.js';

const FILE = new URL('../deploy/traefik/dynamic.yml', import.meta.url);

describe('deploy/traefik/dynamic.yml', () => {
  const doc = parse(readFileSync(FILE, 'utf8')) as any;
  const fa = doc.http.middlewares['ascend-auth'].forwardAuth;
  const defaults = runtimeFromText('{}', 'defaults', 1).config;

  it('calls the sidecar at its default HTTP port and forward-auth path', () => {
    const url = new URL(fa.address);
    expect(url.protocol).toBe('http:');
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(defaults.server.http_port);
    expect(url.pathname).toBe(defaults.forward_auth.path);
  });

  it('127.0.0.1 is a trusted proxy by default, so its X-Forwarded-* count', () => {
    expect(runtimeFromText('{}', 'defaults', 1).trustedProxies(new URL(fa.address).hostname)).toBe(true);
  });

  it('Traefik on the same host is an allowed gateway by default (gateway_access)', () => {
    expect(runtimeFromText('{}', 'defaults', 1).gatewayAccess.deny(new URL(fa.address).hostname, undefined)).toBeUndefined();
  });

  it('does not pass on client X-Forwarded-* headers', () => {
    expect(fa.trustForwardHeader).toBe(false);
  });

  it('copies the decision headers upstream and strips client copies of every x-ascend-* header', () => {
    const names = (fa.authResponseHeaders as string[]).map((h) => h.toLowerCase());
    expect(names).toEqual(expect.arrayContaining(['x-ascend-decision', 'x-ascend-action-id', 'x-ascend-risk-score']));
    const re = new RegExp(fa.authResponseHeadersRegex.replace('(?i)', ''), 'i');
    for (const h of [...names, 'X-Ascend-Approval-Id', 'x-ascend-anything']) expect(re.test(h)).toBe(true);
    expect(re.test('x-agent-id')).toBe(false);
  });

  it('the router uses the middleware', () => {
    expect(doc.http.routers.api.middlewares).toContain('ascend-auth');
    expect(doc.http.services[doc.http.routers.api.service]).toBeDefined();
  });
});
