/**
 * The gRPC transports (`server.grpc_transport: native | h2 | grpc-js`) answer the same gRPC
 * protocol alike: a real grpc-js client for what clients send, raw HTTP/2 for what they should
 * not. The rest of the suite runs on the default (h2); this file holds them to one
 * standard.
 */
import { readFileSync } from 'node:fs';
import http2, { connect as h2connect } from 'node:http2';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, checkRequest, decisionOf } from './helpers/grpc-client.js';
import { checkRequestBytes, frame, h2Call } from './helpers/h2.js';
import { waitFor } from './helpers/metrics.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const withTransport = (transport: string, extra = '') =>
  CORE.replace('server: {grpc_port: 9191, http_port: 8181}', `server: {grpc_port: 9191, http_port: 8181, grpc_transport: ${transport}, grpc_max_receive_bytes: 4096${extra}}`);

const ALLOW = checkRequestBytes({ method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'billing-agent' } });
const DENY = checkRequestBytes({ method: 'DELETE', path: '/admin/users/7', headers: { 'x-agent-id': 'billing-agent' } });

/** x-ascend-decision from the raw CheckResponse bytes of a successful raw call. */
function rawDecision(body: Buffer): string | undefined {
  const m = /x-ascend-decision\x12(?<len>[\s\S])(?<rest>[\s\S]*)/.exec(body.toString('latin1'));
  return m?.groups ? m.groups.rest!.slice(0, m.groups.len!.charCodeAt(0)) : undefined;
}

describe.each(['native', 'h2', 'grpc-js'])('gRPC transport %s', (transport) => {
  let t: TestApp;
  let c: AuthzClient;
  beforeAll(async () => {
    t = await startApp(withTransport(transport));
    c = new AuthzClient(t.grpcPort, { ownConnection: true });
  });
  afterAll(async () => {
    c.close();
    await t.close();
  });

  it('answers Check allow and deny, and health', async () => {
    expect(decisionOf(await c.check({ method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'billing-agent' } }))).toBe('allowed');
    const denied = await c.check({ method: 'DELETE', path: '/admin/users/7', headers: { 'x-agent-id': 'billing-agent' } });
    expect(denied.status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await c.healthCheck('envoy.service.auth.v3.Authorization')).toEqual({ status: 'SERVING' });
    await expect(c.healthCheck('nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('answers many concurrent calls on one connection', async () => {
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => c.check({ method: 'GET', path: `/v1/orders/${i}`, headers: { 'x-agent-id': 'billing-agent' } })),
    );
    expect(answers.map(decisionOf)).toEqual(Array(300).fill('allowed'));
  });

  it('accepts a gzip-compressed request from a grpc-js client', async () => {
    const gz = new AuthzClient(t.grpcPort, { ownConnection: true, options: { 'grpc.default_compression_algorithm': 2 } });
    try {
      const res = await gz.check({ method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'billing-agent', 'x-pad': 'a'.repeat(500) } });
      expect(decisionOf(res)).toBe('allowed');
    } finally {
      gz.close();
    }
  });

  it('accepts a gzip-compressed request on the wire', async () => {
    const r = await h2Call(t.grpcPort, frame(gzipSync(DENY), 1), { 'grpc-encoding': 'gzip' });
    expect([r.status, r.grpcStatus]).toEqual([200, '0']);
    expect(rawDecision(r.body)).toBe('denied');
  });

  it('refuses a compressed message that inflates past grpc_max_receive_bytes (RESOURCE_EXHAUSTED)', async () => {
    const bomb = gzipSync(Buffer.alloc(1_000_000));
    expect(bomb.length).toBeLessThan(4096);
    const r = await h2Call(t.grpcPort, frame(bomb, 1), { 'grpc-encoding': 'gzip' });
    expect(r.grpcStatus).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
  });

  it('refuses an unsupported grpc-encoding (UNIMPLEMENTED)', async () => {
    const r = await h2Call(t.grpcPort, frame(ALLOW, 1), { 'grpc-encoding': 'snappy' });
    expect(r.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
  });

  it('refuses a message over grpc_max_receive_bytes (RESOURCE_EXHAUSTED)', async () => {
    const big = checkRequestBytes({ method: 'GET', path: '/v1/orders/1', body: 'x'.repeat(10_000) });
    const r = await h2Call(t.grpcPort, frame(big));
    expect(r.grpcStatus).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(decisionOf(await c.check({ method: 'GET', path: '/v1/orders/1' }))).toBe('allowed');
  });

  it.each([
    ['no message', Buffer.alloc(0)],
    ['two messages', Buffer.concat([frame(ALLOW), frame(ALLOW)])],
  ])('answers %s with a gRPC error, never a decision', async (_name, body) => {
    const r = await h2Call(t.grpcPort, body);
    expect(r.status).toBe(200);
    expect(r.grpcStatus).not.toBe('0');
    expect(r.body.length).toBe(0);
  });

  it('answers an unknown method UNIMPLEMENTED', async () => {
    const r = await h2Call(t.grpcPort, frame(ALLOW), { ':path': '/envoy.service.auth.v2.Authorization/Check' });
    expect(r.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
  });

  it('answers a non-gRPC content type 415', async () => {
    const r = await h2Call(t.grpcPort, frame(ALLOW), { 'content-type': 'application/json' });
    expect(r.status).toBe(415);
  });

  it('answers an unparsable grpc-timeout with an error, and an expired one per fail_mode', async () => {
    const bad = await h2Call(t.grpcPort, frame(ALLOW), { 'grpc-timeout': 'soon' });
    expect(bad.grpcStatus).toBe(String(grpc.status.INTERNAL));
    const expired = await h2Call(t.grpcPort, frame(ALLOW), { 'grpc-timeout': '0n' });
    expect(expired.grpcStatus).toBe('0');
    expect(rawDecision(expired.body)).toBe('denied');
    expect(expired.body.toString('latin1')).toContain('deadline_exceeded');
  });

  it.each([
    ['an HTTP/1.1 request', 'POST /envoy.service.auth.v3.Authorization/Check HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'],
    ['bytes that are not HTTP at all', '\x00\xff\x13garbage\r\n\r\n'.repeat(20)],
    ['an HTTP/2 preface followed by garbage', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x09\x00\x00\x00\x00\x00junk'],
  ])('drops a connection that sends %s, and keeps serving', async (_name, bytes) => {
    // write, not end: the connection must close because the server drops it, not because we did.
    const closed = await new Promise<boolean>((resolve) => {
      const sock = connect(t.grpcPort, '127.0.0.1', () => sock.write(Buffer.from(bytes, 'latin1')));
      sock.on('data', () => {});
      sock.on('error', () => resolve(true));
      sock.on('close', () => resolve(true));
    });
    expect(closed).toBe(true);
    expect(decisionOf(await c.check({ method: 'GET', path: '/v1/orders/1' }))).toBe('allowed');
  });

  it('keeps serving after a client cancels calls', async () => {
    const client = c as unknown as { client: grpc.Client & Record<string, (...a: unknown[]) => grpc.ClientUnaryCall> };
    for (let i = 0; i < 20; i++) client.client.Check!(checkRequest({ method: 'GET', path: `/v1/x/${i}` }), () => {}).cancel();
    expect(decisionOf(await c.check({ method: 'GET', path: '/v1/orders/1' }))).toBe('allowed');
  });
});

describe.each(['native', 'h2', 'grpc-js'])('gRPC transport %s shutdown', (transport) => {
  it('ends Watch streams with OK, lets an in-flight call finish, then refuses connections', async () => {
    const t = await startApp(withTransport(transport));
    const c = new AuthzClient(t.grpcPort, { ownConnection: true });
    const client = c as unknown as { health: grpc.Client & { Watch(req: unknown): grpc.ClientReadableStream<{ status: string }> } };
    const seen: string[] = [];
    let watchStatus: number | undefined;
    const w = client.health.Watch({ service: '' });
    w.on('data', (m: { status: string }) => seen.push(m.status));
    w.on('status', (s: grpc.StatusObject) => (watchStatus = s.code));
    w.on('error', () => {});
    await waitFor(() => seen.length === 1);
    expect(decisionOf(await c.check({ method: 'GET', path: '/v1/orders/1' }))).toBe('allowed');
    await t.app.shutdown(2000);
    await waitFor(() => watchStatus !== undefined);
    expect(watchStatus).toBe(grpc.status.OK);
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    await expect(c.check({ method: 'GET', path: '/v1/orders/1' })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    c.close();
  });
});

describe.each(['native', 'h2'])('%s transport: a method other than POST, an unknown method of any length', (transport) => {
  it('is answered 405 without reaching a method', async () => {
    const t = await startApp(withTransport(transport));
    try {
      const r = await h2Call(t.grpcPort, Buffer.alloc(0), { ':method': 'GET' });
      expect([r.status, r.grpcStatus]).toEqual([405, undefined]);
      // An unknown method quoted back is bounded: the path is the client's, of any length.
      const long = await h2Call(t.grpcPort, frame(ALLOW), { ':path': `/${'x'.repeat(8000)}/Check` });
      expect(long.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
      expect(long.grpcMessage).toMatch(/^The server does not implement the method \/x+$/);
      expect(long.grpcMessage!.length).toBe(1024);
    } finally {
      await t.close();
    }
  });
});

describe.each(['native', 'h2'])('%s transport: a request that never finishes arriving', (transport) => {
  it('is answered DEADLINE_EXCEEDED after http_request_timeout_ms, and the server keeps serving', async () => {
    const t = await startApp(withTransport(transport, ', http_request_timeout_ms: 300'));
    const c = new AuthzClient(t.grpcPort, { ownConnection: true });
    const session = h2connect(`http://127.0.0.1:${t.grpcPort}`);
    try {
      const req = session.request({ ':method': 'POST', ':path': '/envoy.service.auth.v3.Authorization/Check', 'content-type': 'application/grpc' });
      let status: string | undefined;
      req.on('response', (h) => (status = h['grpc-status'] === undefined ? undefined : String(h['grpc-status'])));
      req.on('error', () => {});
      // Half a message, and the stream is never ended.
      req.write(frame(ALLOW).subarray(0, 20));
      await waitFor(() => status !== undefined, 10_000, 20);
      expect(status).toBe(String(grpc.status.DEADLINE_EXCEEDED));
      expect(decisionOf(await c.check({ method: 'GET', path: '/v1/orders/1' }))).toBe('allowed');
    } finally {
      session.destroy();
      c.close();
      await t.close();
    }
  });

  it('expires every stalled call, whatever finished or was reset between them', async () => {
    const t = await startApp(withTransport(transport, ', http_request_timeout_ms: 300'));
    const session = h2connect(`http://127.0.0.1:${t.grpcPort}`);
    const open = (): { req: ReturnType<typeof session.request>; status: () => string | undefined } => {
      const req = session.request({ ':method': 'POST', ':path': '/envoy.service.auth.v3.Authorization/Check', 'content-type': 'application/grpc' });
      let st: string | undefined;
      // Trailers-Only answers carry grpc-status in the headers, full answers in the trailers.
      const take = (h: http2.IncomingHttpHeaders): void => {
        if (h['grpc-status'] !== undefined) st = String(h['grpc-status']);
      };
      req.on('response', take);
      req.on('trailers', take);
      req.on('data', () => {});
      req.on('error', () => {});
      return { req, status: () => st };
    };
    try {
      const stalled1 = open();
      stalled1.req.write(frame(ALLOW).subarray(0, 20));
      const reset = open(); // leaves in the middle of the list
      reset.req.write(frame(ALLOW).subarray(0, 20));
      reset.req.close(http2.constants.NGHTTP2_CANCEL);
      const finished = open(); // completes: must not be expired later
      finished.req.end(frame(ALLOW));
      const stalled2 = open();
      stalled2.req.write(frame(ALLOW).subarray(0, 20));
      await waitFor(() => stalled1.status() !== undefined && stalled2.status() !== undefined && finished.status() !== undefined, 10_000, 20);
      expect([stalled1.status(), stalled2.status(), finished.status()]).toEqual([
        String(grpc.status.DEADLINE_EXCEEDED), String(grpc.status.DEADLINE_EXCEEDED), String(grpc.status.OK),
      ]);
    } finally {
      session.destroy();
      await t.close();
    }
  });
});
