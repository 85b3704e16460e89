/**
 * Limits and malformed transport input: every one gets a clear answer, and the sidecar keeps
 * serving afterwards. Real sockets throughout (grpc-js, raw HTTP/2, raw TCP).
 */
import { readFileSync } from 'node:fs';
import { connect as h2connect, constants as h2 } from 'node:http2';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_DIR } from '../src/adapters/envoy/protos.js';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, checkRequest, decisionOf } from './helpers/grpc-client.js';
import { rawRequest } from './helpers/http.js';
import { waitFor } from './helpers/metrics.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const CONFIG = CORE.replace(
  'server: {grpc_port: 9191, http_port: 8181}',
  'server: {grpc_port: 9191, http_port: 8181, grpc_max_receive_bytes: 4096, http_request_timeout_ms: 500, http_max_headers: 40}',
);

const root = new protobuf.Root();
root.resolvePath = (_o, t) => `${PROTO_DIR}${t}`;
root.loadSync('envoy/service/auth/v3/external_auth.proto', { keepCase: true });
const CheckRequest = root.lookupType('envoy.service.auth.v3.CheckRequest');

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, payload. */
function frame(payload: Uint8Array, compressed = 0, length = payload.length): Buffer {
  const f = Buffer.alloc(5 + payload.length);
  f[0] = compressed;
  f.writeUInt32BE(length, 1);
  Buffer.from(payload).copy(f, 5);
  return f;
}

interface H2Answer {
  status: number | undefined;
  grpcStatus: string | undefined;
  body: Buffer;
}

/** One raw HTTP/2 POST to Check, with exactly the bytes and headers given. */
function h2Check(port: number, body: Buffer, extra: Record<string, string> = {}): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: '/envoy.service.auth.v3.Authorization/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extra,
    });
    let status: number | undefined;
    let grpcStatus: string | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      status = Number(h[':status']);
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    req.on('trailers', (t) => {
      if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      session.close();
      resolve({ status, grpcStatus, body: Buffer.concat(chunks) });
    });
    req.on('error', reject);
    req.end(body);
  });
}

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
    const payload = CheckRequest.encode(CheckRequest.fromObject(checkRequest({ method: 'GET', path: '/v1/orders/1' }) as object)).finish();
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
