/**
 * Limits and malformed transport input: every one gets a clear answer, and the sidecar keeps
 * serving afterwards. Real sockets throughout (grpc-js, raw HTTP/2, raw TCP).
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { checkRequestBytes, frame, h2Call as h2Check } from './helpers/h2.js';
import { rawRequest } from './helpers/http.js';
import { waitFor } from './helpers/metrics.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const CONFIG = CORE.replace(
  'server: {grpc_port: 9191, http_port: 8181}',
  'server: {grpc_port: 9191, http_port: 8181, grpc_max_receive_bytes: 4096, http_request_timeout_ms: 500, http_max_headers: 40}',
);

describe('limits and malformed input', () => {
  let t: TestApp;
  let c: AuthzClient;
  beforeAll(async () => {
    t = await startApp(CONFIG);
    c = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    c.close();
    await t.close();
  });
  const stillServing = async () => expect(decisionOf(await c.check({ method: 'GET', path: '/v1/orders/1' }))).toBe('allowed');

  it('a CheckRequest over grpc_max_receive_bytes gets RESOURCE_EXHAUSTED', async () => {
    await expect(c.check({ method: 'POST', path: '/v1/orders/1', body: 'x'.repeat(8192) })).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    await stillServing();
  });

  it.each([
    ['a length prefix longer than the data', frame(Buffer.from([0x0a, 0x00]), 0, 64)],
    ['the compressed flag without a grpc-encoding', frame(Buffer.from([0x0a, 0x00]), 1)],
    ['protobuf garbage', frame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))],
    ['a truncated frame header', Buffer.from([0x00, 0x00])],
  ])('raw HTTP/2 with %s gets an answer, and the server keeps serving', async (_name, body) => {
    const r = await h2Check(t.grpcPort, body);
    expect(r.status).toBe(200);
    expect(r.grpcStatus).toBeDefined();
    if (r.grpcStatus === '0') {
      // Decoded far enough to be evaluated: it must be a denial, not an allow.
      expect(r.body.subarray(5, 9)).toEqual(Buffer.from([0x0a, r.body[6] as number, 0x08, 0x07]));
    }
    await stillServing();
  });

  it.each(['0n', '1n', '99999999H', '1S', 'abc', '-5m', '123456789012S'])('grpc-timeout: %s is handled', async (timeout) => {
    const payload = checkRequestBytes({ method: 'GET', path: '/v1/orders/1' });
    const r = await h2Check(t.grpcPort, frame(payload), { 'grpc-timeout': timeout });
    expect(r.status).toBe(200);
    expect(r.grpcStatus).toBeDefined();
    await stillServing();
  });

  it('HTTP request headers over the size limit get 431', async () => {
    const r = await rawRequest(t.httpPort, { path: '/forward-auth/v1/orders/1', headers: { 'x-big': 'a'.repeat(20_000) } }).catch((e: Error) => ({ status: -1, error: e.message }));
    expect(r.status).toBe(431);
    expect((await fetch(t.url('/healthz'))).status).toBe(200);
  });

  it('more request headers than http_max_headers get 431, never a decision on part of them', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 50; i++) headers[`x-pad-${i}`] = '1';
    const r = await rawRequest(t.httpPort, { path: '/forward-auth/v1/orders/1', headers });
    expect(r.status, r.body).toBe(431);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'too_many_headers' });
  });

  it('a slow client cannot hold a socket past http_request_timeout_ms', async () => {
    const sock = connect(t.httpPort, '127.0.0.1');
    let closed = false;
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString()));
    sock.on('close', () => (closed = true));
    sock.on('error', () => {});
    // Headers never finish.
    sock.write('GET /forward-auth/v1/orders/1 HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    await waitFor(() => closed, 10_000, 50);
    expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
    await stillServing();
  });
});
