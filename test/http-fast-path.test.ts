/**
 * The gateway endpoints' fast path (src/http/fast-routes.ts) answers exactly as fastify does.
 * Two sidecars from the same config, one with `server.http_fast_path: false`, get the same
 * requests over real sockets — allows, denials, pending, and every refusal a body can earn —
 * and must answer with the same status, headers and body (action ids aside, which are random).
 * The fast sidecar's own count shows which requests the fast path took and which it left to
 * fastify, so the comparison cannot pass by both sides going through fastify.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fastRoutesOf } from '../src/http/fast-routes.js';
import { startApp, type TestApp } from './helpers/app.js';
import { expectSameAnswer, fastAndSlow } from './helpers/fast-path.js';
import { rawRequest } from './helpers/http.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const FIXTURES = JSON.parse(readFileSync(new URL('./fixtures/kong/plugin-requests.json', import.meta.url), 'utf8')) as Array<{ name: string; expected_request: Record<string, unknown> }>;
const kongBody = (name: string) => FIXTURES.find((c) => c.name === name)!.expected_request;

const JSON_HEADERS = { 'content-type': 'application/json' };
const nested = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const opaInput = (path: string, agent: string) => ({
  input: { request: { http: { method: 'POST', scheme: 'http', host: 'payments.internal', port: 8000, path, headers: { 'x-agent-id': agent }, querystring: { amount: '50' } } }, client_ip: '10.1.0.7' },
});
const forwarded = (uri: string, agent?: string) => ({
  'x-original-uri': uri, 'x-original-method': 'GET', 'x-forwarded-host': 'api.example.com', ...(agent ? { 'x-agent-id': agent } : {}),
});

interface Case {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Whether the fast path answers it (false: it is left to fastify). */
  fast: boolean;
}

const CASES: Record<string, Case> = {
  'kong: allow': { method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS, body: JSON.stringify(kongBody('refund-small-by-header-agent')), fast: true },
  'kong: pending': { method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS, body: JSON.stringify(kongBody('refund-large-needs-approval')), fast: true },
  'kong: denied': { method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS, body: JSON.stringify(kongBody('admin-read-denied')), fast: true },
  'kong: content-type with charset': { method: 'POST', path: '/kong/v1/authorize', headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(kongBody('orders-read-by-crawler')), fast: true },
  'kong: a query string on the endpoint': { method: 'POST', path: '/kong/v1/authorize?x=1', headers: JSON_HEADERS, body: JSON.stringify(kongBody('orders-read-by-crawler')), fast: true },
  'kong: malformed JSON': { method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS, body: '{"request":', fast: true },
  'kong: __proto__ key': { method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS, body: '{"__proto__":{"x":1},"request":{}}', fast: true },
  'kong: too deep': { method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS, body: nested(40), fast: true },
  'kong: fails the schema': { method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS, body: '{"request":{"method":1}}', fast: true },
  'kong: not JSON (fastify)': { method: 'POST', path: '/kong/v1/authorize', headers: { 'content-type': 'text/plain' }, body: 'hello', fast: false },
  'kong: empty body (fastify)': { method: 'POST', path: '/kong/v1/authorize', headers: { ...JSON_HEADERS, 'content-length': '0' }, fast: false },
  'kong: over the body limit (fastify)': { method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS, body: JSON.stringify({ pad: 'x'.repeat(3 * 1024 * 1024) }), fast: false },
  'kong: trailing slash (fastify)': { method: 'POST', path: '/kong/v1/authorize/', headers: JSON_HEADERS, body: JSON.stringify(kongBody('orders-read-by-crawler')), fast: false },
  'kong opa: allow': { method: 'POST', path: '/v1/data/ascend/allow', headers: JSON_HEADERS, body: JSON.stringify(opaInput('/v1/orders/o-1', 'crawler')), fast: true },
  'kong opa: denied': { method: 'POST', path: '/v1/data/ascend/allow', headers: JSON_HEADERS, body: JSON.stringify(opaInput('/admin/users', 'crawler')), fast: true },
  'kong opa: /v1/data itself': { method: 'POST', path: '/v1/data', headers: JSON_HEADERS, body: JSON.stringify(opaInput('/v1/orders/o-1', 'crawler')), fast: true },
  'kong opa: fails the schema': { method: 'POST', path: '/v1/data/ascend/allow', headers: JSON_HEADERS, body: '{"input":7}', fast: true },
  'kong opa: malformed JSON': { method: 'POST', path: '/v1/data/x', headers: JSON_HEADERS, body: '{', fast: true },
  'forward-auth: allow': { path: '/forward-auth', headers: forwarded('/v1/orders/o-1', 'crawler'), fast: true },
  'forward-auth: denied': { path: '/forward-auth', headers: forwarded('/admin/users', 'crawler'), fast: true },
  'forward-auth: malformed original URI': { path: '/forward-auth', headers: forwarded('/v1/%zz', 'crawler'), fast: true },
  'forward-auth: HEAD': { method: 'HEAD', path: '/forward-auth', headers: forwarded('/v1/orders/o-1', 'crawler'), fast: true },
  'forward-auth: Envoy http_service path': { method: 'GET', path: '/forward-auth/v1/orders/o-1', headers: { 'x-agent-id': 'crawler' }, fast: true },
  'forward-auth: with a body (fastify)': { method: 'POST', path: '/forward-auth', headers: { ...forwarded('/v1/orders/o-1', 'crawler'), 'content-type': 'text/plain' }, body: 'x', fast: false },
  'not a gateway route (fastify)': { path: '/healthz', fast: false },
};

describe('gateway fast path: the same answers as fastify', () => {
  const pair = fastAndSlow(CORE);

  it('the fast path is on by default and off with http_fast_path: false', () => {
    expect(fastRoutesOf(pair.fast.app.http)).toBeDefined();
    expect(fastRoutesOf(pair.slow.app.http)).toBeUndefined();
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      await expectSameAnswer(pair, { method: c.method ?? 'GET', path: c.path, headers: { host: 'sidecar', ...c.headers }, ...(c.body === undefined ? {} : { body: c.body }) }, c.fast);
    });
  }

  it('refusals are counted alike (ascend_authz_errors_total)', async () => {
    const errors = async (t: TestApp) => (await (await fetch(t.url('/metrics'))).text()).split('\n').filter((l) => l.startsWith('ascend_authz_errors_total')).sort();
    expect(await errors(pair.fast)).toEqual(await errors(pair.slow));
    expect((await errors(pair.fast)).length).toBeGreaterThan(0);
  });
});

describe('gateway fast path: a client that goes away mid-body', () => {
  it('costs nothing: the sidecar keeps answering', async () => {
    const t = await startApp(CORE);
    try {
      const { connect } = await import('node:net');
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve) => {
          const s = connect(t.httpPort, '127.0.0.1', () => {
            s.write('POST /kong/v1/authorize HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"request":');
            setTimeout(() => { s.resetAndDestroy(); resolve(); }, 5);
          });
        });
      }
      const r = await rawRequest(t.httpPort, { method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS, body: JSON.stringify(kongBody('orders-read-by-crawler')) });
      expect(r.status).toBe(200);
      expect(fastRoutesOf(t.app.http)!.served).toBe(21);
    } finally {
      await t.close();
    }
  });
});
