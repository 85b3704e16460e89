/**
 * Bad input on every HTTP entry point: malformed JSON → 400, oversized → 413, wrong content
 * type → 415 (Kong OPA: the same, as HTTP 200 deny results Kong applies), each with a JSON
 * `code`, counted per adapter — and the server keeps answering normally afterwards.
 */
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { rawRequest, sample } from './helpers/http.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const MiB = 1024 * 1024;

const KONG_OK = {
  request: { method: 'GET', scheme: 'https', host: 'api.example.com', port: 443, path: '/v1/orders/o-1', raw_query: '', headers: { 'x-agent-id': 'crawler' } },
  agent_id_from: 'username',
};
const OPA_OK = { input: { request: { http: { method: 'GET', host: 'api.example.com', path: '/v1/orders/o-1', headers: {} } } } };

/** A Kong request with `bytes` of control characters: JSON escapes each as \u00XX, 6 bytes. */
function kongWithBody(bytes: number): string {
  const body = '\u0001'.repeat(bytes);
  const headers = { 'x-agent-id': 'billing-agent', 'content-type': 'application/json' };
  return JSON.stringify({ ...KONG_OK, request: { ...KONG_OK.request, method: 'POST', path: '/v1/refunds/r-1', raw_query: 'amount=5', headers, body } });
}

describe('HTTP adapter errors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(CORE);
  });
  afterAll(() => t.close());

  const post = (path: string, body: string | Buffer, contentType: string | null = 'application/json') =>
    rawRequest(t.httpPort, { method: 'POST', path, headers: contentType === null ? {} : { 'content-type': contentType }, body });
  const json = (r: { body: string }) => JSON.parse(r.body);

  async function stillServes(): Promise<void> {
    const kong = await post('/kong/v1/authorize', JSON.stringify(KONG_OK));
    expect(kong.status).toBe(200);
    expect(json(kong).decision).toBe('allowed');
    const opa = await post('/v1/data/ascend/allow', JSON.stringify(OPA_OK));
    expect(json(opa).result.allow).toBe(true);
    const fa = await rawRequest(t.httpPort, { path: '/forward-auth', headers: { 'x-original-uri': '/v1/orders/1' } });
    expect(fa.status).toBe(200);
    expect((await rawRequest(t.httpPort, { path: '/healthz' })).status).toBe(200);
  }

  describe.each(['/kong/v1/authorize', '/kong/v1/complete'])('%s', (path) => {
    it.each([
      ['malformed JSON', '{"request": ', 'application/json', 400, 'invalid_json'],
      ['empty JSON body', '', 'application/json', 400, 'invalid_json'],
      ['JSON that is not the contract', '{"request": {"method": 1}}', 'application/json', 400, 'invalid_request'],
      ['an array', '[]', 'application/json', 400, 'invalid_request'],
      ['__proto__ key', '{"__proto__": {"admin": true}}', 'application/json', 400, 'invalid_json'],
      ['text/plain', 'hello', 'text/plain', 415, 'unsupported_media_type'],
      ['form data', 'a=1', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
      ['no content type', '{}', null, 415, 'unsupported_media_type'],
    ])('%s', async (_name, body, type, status, code) => {
      const res = await post(path, body, type);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(json(res)).toEqual({ code, reason: expect.any(String) });
    });
  });

  // Header map keys with a line break used to escape the map's value type (T.Record's `^(.*)$`
  // pattern): the pipeline then failed on the value (evaluation_error, per fail_mode).
  it.each([
    ['a header name with \\n and a number', { 'x-agent-id': 'crawler', 'x\n': 5 }],
    ['a header name with U+2028 and an object', { 'x-agent-id': 'crawler', 'x\u2028': { a: 1 } }],
    ['a header name with \\r and a list of numbers', { 'x-agent-id': 'crawler', 'x\r': [1] }],
  ])('/kong/v1/authorize refuses %s (400 invalid_request)', async (_name, headers) => {
    const res = await post('/kong/v1/authorize', JSON.stringify({ request: { method: 'GET', host: 'h', path: '/v1/orders/1', headers } }));
    expect(res.status).toBe(400);
    expect(json(res)).toEqual({ code: 'invalid_request', reason: expect.stringMatching(/must be/) });
  });

  it('/kong/v1/authorize takes the plugin\'s largest body (256 KiB escaped 6x) but not more than kong.body_limit_bytes', async () => {
    const big = kongWithBody(256 * 1024);
    expect(big.length).toBeGreaterThan(1.5 * MiB); // the plugin's 256 KiB cap, escaped: above fastify's 1 MiB default
    const ok = await post('/kong/v1/authorize', big);
    expect(ok.status).toBe(200);
    expect(json(ok).decision).toBe('allowed');
    const tooBig = await post('/kong/v1/authorize', kongWithBody(MiB / 2));
    expect(tooBig.status).toBe(413);
    expect(json(tooBig)).toEqual({ code: 'body_too_large', reason: `request body is larger than ${2 * MiB} bytes` });
  });

  it('/kong/v1/complete keeps a tight limit', async () => {
    const res = await post('/kong/v1/complete', JSON.stringify({ action_id: 'a', pad: 'x'.repeat(20_000) }));
    expect(res.status).toBe(413);
  });

  describe('/v1/data/* (Kong OPA): HTTP 200, deny results with the error status', () => {
    it.each([
      ['malformed JSON', '{"input": ', 'application/json', 400, 'invalid_json'],
      ['JSON that is not opa input', '{"input": {"request": {"http": {"method": "GET"}}}}', 'application/json', 400, 'invalid_request'],
      ['text/plain', 'hello', 'text/plain', 415, 'unsupported_media_type'],
      ['oversized', JSON.stringify({ input: { pad: 'x'.repeat(2 * MiB) } }), 'application/json', 413, 'body_too_large'],
      ['a header name with a line break and a number', JSON.stringify({ input: { request: { http: { method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'crawler', 'x\n': 5 } } } } }), 'application/json', 400, 'invalid_request'],
      ['a query key with U+2029 and an object', JSON.stringify({ input: { request: { http: { method: 'GET', path: '/v1/orders/1', querystring: { 'k\u2029': { a: 1 } } } } } }), 'application/json', 400, 'invalid_request'],
    ])('%s', async (_name, body, type, status, code) => {
      const res = await post('/v1/data/ascend/allow', body, type);
      expect(res.status).toBe(200);
      expect(json(res)).toEqual({
        result: { allow: false, status, headers: { 'x-ascend-decision': 'denied' }, message: { decision: 'denied', code, reason: expect.any(String) } },
      });
    });
  });

  describe('/forward-auth', () => {
    it('no usable original request → 400 denial with a reason', async () => {
      const res = await rawRequest(t.httpPort, { path: '/forward-auth' });
      expect(res.status).toBe(400);
      expect(json(res)).toMatchObject({ decision: 'denied', code: 'invalid_request', reason: expect.stringMatching(/no original request/) });
    });

    it('an original body over forward_auth.body_limit_bytes → 413', async () => {
      const res = await rawRequest(t.httpPort, { method: 'POST', path: '/forward-auth/v1/upload', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(MiB + 1) });
      expect(res.status).toBe(413);
      expect(json(res)).toEqual({ code: 'body_too_large', reason: `request body is larger than ${MiB} bytes` });
    });

    it('no content type is wrong: the body is the original request\'s, whatever it is', async () => {
      for (const type of ['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
        const res = await rawRequest(t.httpPort, { method: 'POST', path: '/forward-auth/v1/orders/1', headers: { 'content-type': type }, body: '{not json' });
        expect(res.status).toBe(403);
        expect(json(res).code).toBe('default_deny');
      }
    });
  });

  it('a declared oversized body is refused before it is sent, and other requests go on', async () => {
    const sock = new Socket();
    const answer = new Promise<string>((resolve) => {
      let got = '';
      sock.on('data', (c) => {
        got += c.toString('utf8');
        if (got.includes('\r\n\r\n')) resolve(got);
      });
    });
    await new Promise<void>((resolve) => sock.connect(t.httpPort, '127.0.0.1', resolve));
    sock.write('POST /kong/v1/authorize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"request":');
    await stillServes();
    expect(await answer).toMatch(/^HTTP\/1\.1 413 /);
    sock.destroy();
  });

  it('the server still answers normally, and counted every refusal per adapter', async () => {
    await stillServes();
    const metrics = await (await fetch(t.url('/metrics'))).text();
    const errors = (adapter: string, reason: string) => sample(metrics, 'ascend_authz_errors_total', { adapter, reason }) ?? 0;
    expect(errors('kong', 'invalid_json')).toBeGreaterThanOrEqual(6);
    expect(errors('kong', 'unsupported_media_type')).toBeGreaterThanOrEqual(6);
    expect(errors('kong', 'body_too_large')).toBe(3);
    expect(errors('kong', 'invalid_request')).toBeGreaterThanOrEqual(4);
    expect(errors('kong_opa', 'body_too_large')).toBe(1);
    expect(errors('kong_opa', 'unsupported_media_type')).toBe(1);
    expect(errors('forward_auth', 'body_too_large')).toBe(1);
    expect(errors('forward_auth', 'invalid_request')).toBeGreaterThanOrEqual(1);
  });
});
