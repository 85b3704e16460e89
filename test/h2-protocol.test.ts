/**
 * The h2 transport (`server.grpc_transport: h2`) against RFC 9113, frame by frame: a raw
 * socket sends exactly the frames each test builds, and the assertions read the server's
 * frames. What a well-behaved client sees is in grpc-transport.test.ts (grpc-js, node:http2);
 * here is what a broken or hostile one gets, and the flow control a slow one relies on.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrpcMethod } from '../src/grpc/call.js';
import { HpackDecoder } from '../src/grpc/h2/hpack.js';
import { H2GrpcServer } from '../src/grpc/h2/server.js';
import { startApp, type TestApp } from './helpers/app.js';
import { checkRequestBytes, frame } from './helpers/h2.js';
import { scrape } from './helpers/metrics.js';
import { ERR, FL, frameBytes, RawH2, requestBlock, settings, T, u32, type Frame } from './helpers/raw-h2.js';
import { waitFor } from './helpers/wait.js';
import { describeWith } from './helpers/tools.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const CONFIG = CORE.replace('server: {grpc_port: 9191, http_port: 8181}', 'server: {grpc_port: 9191, http_port: 8181, grpc_transport: h2, grpc_max_receive_bytes: 4096, http_request_timeout_ms: 300}');
const ALLOW = frame(checkRequestBytes({ method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'billing-agent' } }));

/** The header fields of a HEADERS frame the server sent (its blocks never use the dynamic table). */
function fields(f: Frame): Record<string, string> {
  const out: Record<string, string> = {};
  new HpackDecoder().decode(f.payload, 0, f.payload.length, { field: (n, v) => (out[n] = v) });
  return out;
}

/** HEADERS + DATA of one Check on `stream`. */
function check(stream: number, body = ALLOW): Buffer {
  return Buffer.concat([frameBytes(T.HEADERS, FL.END_HEADERS, stream, requestBlock()), frameBytes(T.DATA, FL.END_STREAM, stream, body)]);
}

/** The grpc-status a finished stream ended with. */
function grpcStatus(frames: Frame[]): string | undefined {
  const last = frames.filter((f) => f.type === T.HEADERS).at(-1);
  return last === undefined ? undefined : fields(last)['grpc-status'];
}

describe('h2 transport, frame by frame', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(CONFIG);
  });
  afterAll(async () => {
    await t.close();
  });

  it('sends its SETTINGS and a connection WINDOW_UPDATE, acknowledges the client SETTINGS, answers a Check', async () => {
    const c = await RawH2.open(t.grpcPort);
    try {
      const s = await c.expect((f) => f.type === T.SETTINGS && f.flags === 0);
      const values = new Map<number, number>();
      for (let i = 0; i < s.payload.length; i += 6) values.set(s.payload.readUInt16BE(i), s.payload.readUInt32BE(i + 2));
      expect(values.get(3)).toBe(1000); // MAX_CONCURRENT_STREAMS
      expect(values.get(4)).toBe(1024 * 1024); // INITIAL_WINDOW_SIZE
      await c.expect((f) => f.type === T.WINDOW_UPDATE && f.stream === 0);
      await c.expect((f) => f.type === T.SETTINGS && f.flags === FL.ACK);
      c.send(check(1));
      const frames = await c.ended(1);
      expect(frames.map((f) => [f.type, f.flags])).toEqual([[T.HEADERS, FL.END_HEADERS], [T.DATA, 0], [T.HEADERS, FL.END_HEADERS | FL.END_STREAM]]);
      expect(fields(frames[0]!)).toEqual({ ':status': '200', 'content-type': 'application/grpc' });
      expect(frames[1]!.payload.toString('latin1')).toContain('allowed');
      expect(grpcStatus(frames)).toBe('0');
    } finally {
      c.close();
    }
  });

  it('answers a Check whose bytes arrive one at a time', async () => {
    const c = await RawH2.open(t.grpcPort, false);
    try {
      const all = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), settings(), check(1)]);
      for (const b of all) {
        c.send(Buffer.from([b]));
        await new Promise<void>((r) => setImmediate(r));
      }
      expect(grpcStatus(await c.ended(1))).toBe('0');
    } finally {
      c.close();
    }
  });

  it('reads headers split over CONTINUATION frames, padded HEADERS and DATA, and a PRIORITY part', async () => {
    const c = await RawH2.open(t.grpcPort);
    try {
      const block = requestBlock();
      const cut = 10;
      c.send(
        frameBytes(T.HEADERS, 0, 1, block.subarray(0, cut)),
        frameBytes(T.CONTINUATION, 0, 1, block.subarray(cut, cut + 5)),
        frameBytes(T.CONTINUATION, FL.END_HEADERS, 1, block.subarray(cut + 5)),
        frameBytes(T.DATA, FL.END_STREAM | FL.PADDED, 1, Buffer.concat([Buffer.from([3]), ALLOW, Buffer.alloc(3)])),
      );
      expect(grpcStatus(await c.ended(1))).toBe('0');
      const priority = Buffer.concat([Buffer.from([0, 0, 0, 0, 16])]);
      c.send(
        frameBytes(T.HEADERS, FL.END_HEADERS | FL.PADDED | FL.PRIORITY, 3, Buffer.concat([Buffer.from([2]), priority, block, Buffer.alloc(2)])),
        frameBytes(T.PRIORITY, 0, 3, priority),
        frameBytes(0x42, 0, 0, Buffer.from('unknown frame types are ignored')),
        frameBytes(T.DATA, FL.END_STREAM, 3, ALLOW),
      );
      expect(grpcStatus(await c.ended(3))).toBe('0');
    } finally {
      c.close();
    }
  });

  it('counts an ignored RST_STREAM on an idle stream in ascend_grpc_connection_events_total', async () => {
    const c = await RawH2.open(t.grpcPort);
    const count = async () => Number(/ascend_grpc_connection_events_total\{event="idle_stream_reset"\} (\d+)/.exec(await scrape(t.url('/metrics')))?.[1]);
    try {
      const before = await count();
      c.send(check(1), frameBytes(T.RST_STREAM, 0, 5, u32(ERR.CANCEL)), check(7));
      expect(grpcStatus(await c.ended(7))).toBe('0');
      expect(await count()).toBe(before + 1);
      expect(await scrape(t.url('/metrics'))).toMatch(/ascend_grpc_connection_events_total\{event="control_flood"\} \d+/);
    } finally {
      c.close();
    }
  });

  it('echoes PING', async () => {
    const c = await RawH2.open(t.grpcPort);
    try {
      c.send(frameBytes(T.PING, 0, 0, Buffer.from('12345678')));
      const pong = await c.expect((f) => f.type === T.PING);
      expect([pong.flags, pong.payload.toString()]).toEqual([FL.ACK, '12345678']);
    } finally {
      c.close();
    }
  });

  it.each<[string, (c: RawH2) => void, number]>([
    ['a first frame other than SETTINGS', (c) => c.send(frameBytes(T.PING, 0, 0, Buffer.alloc(8))), ERR.PROTOCOL_ERROR],
    ['a frame over 16384 bytes', (c) => c.send(settings(), frameBytes(T.DATA, 0, 1, Buffer.alloc(16_385))), ERR.FRAME_SIZE_ERROR],
    ['an HPACK block that does not decode', (c) => c.send(settings(), frameBytes(T.HEADERS, FL.END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff]))), ERR.COMPRESSION_ERROR],
    ['HEADERS on an even stream', (c) => c.send(settings(), frameBytes(T.HEADERS, FL.END_HEADERS, 2, requestBlock())), ERR.PROTOCOL_ERROR],
    ['HEADERS interrupted before END_HEADERS', (c) => c.send(settings(), frameBytes(T.HEADERS, 0, 1, requestBlock().subarray(0, 4)), frameBytes(T.PING, 0, 0, Buffer.alloc(8))), ERR.PROTOCOL_ERROR],
    ['CONTINUATION without HEADERS', (c) => c.send(settings(), frameBytes(T.CONTINUATION, FL.END_HEADERS, 1, requestBlock())), ERR.PROTOCOL_ERROR],
    ['a header block that never ends (CONTINUATION flood)', (c) => {
      const parts = [settings(), frameBytes(T.HEADERS, 0, 1, requestBlock().subarray(0, 2))];
      for (let i = 0; i < 10; i++) parts.push(frameBytes(T.CONTINUATION, 0, 1, Buffer.alloc(8000, 0x82)));
      c.send(...parts);
    }, ERR.ENHANCE_YOUR_CALM],
    ['a header block in a flood of empty CONTINUATION frames', (c) => {
      const parts = [settings(), frameBytes(T.HEADERS, 0, 1, requestBlock().subarray(0, 2))];
      for (let i = 0; i < 100; i++) parts.push(frameBytes(T.CONTINUATION, 0, 1));
      c.send(...parts);
    }, ERR.ENHANCE_YOUR_CALM],
    ['DATA on a stream never opened', (c) => c.send(settings(), frameBytes(T.DATA, 0, 5, ALLOW)), ERR.PROTOCOL_ERROR],
    ['RST_STREAM on an idle stream before any stream opened', (c) => c.send(settings(), frameBytes(T.RST_STREAM, 0, 1, u32(ERR.CANCEL))), ERR.PROTOCOL_ERROR],
    ['RST_STREAM on an idle even stream', (c) => c.send(settings(), check(1), frameBytes(T.RST_STREAM, 0, 4, u32(ERR.CANCEL))), ERR.PROTOCOL_ERROR],
    ['padding as long as the frame', (c) => c.send(settings(), frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock()), frameBytes(T.DATA, FL.PADDED, 1, Buffer.from([4, 0, 0, 0]))), ERR.PROTOCOL_ERROR],
    ['a connection WINDOW_UPDATE of 0', (c) => c.send(settings(), frameBytes(T.WINDOW_UPDATE, 0, 0, u32(0))), ERR.PROTOCOL_ERROR],
    ['a connection window past 2^31-1', (c) => c.send(settings(), frameBytes(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff))), ERR.FLOW_CONTROL_ERROR],
    ['SETTINGS with a bad length', (c) => c.send(settings(), frameBytes(T.SETTINGS, 0, 0, Buffer.alloc(5))), ERR.FRAME_SIZE_ERROR],
    ['INITIAL_WINDOW_SIZE over 2^31-1', (c) => c.send(settings([[4, 0x80000000]])), ERR.FLOW_CONTROL_ERROR],
    ['PUSH_PROMISE from a client', (c) => c.send(settings(), frameBytes(T.PUSH_PROMISE, FL.END_HEADERS, 1, Buffer.alloc(4))), ERR.PROTOCOL_ERROR],
    ['PING of 7 bytes', (c) => c.send(settings(), frameBytes(T.PING, 0, 0, Buffer.alloc(7))), ERR.FRAME_SIZE_ERROR],
  ])('closes the connection with GOAWAY on %s', async (_name, act, code) => {
    const c = await RawH2.open(t.grpcPort, false);
    try {
      c.send(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));
      act(c);
      const g = await c.goaway();
      expect(g.code).toBe(code);
      expect(g.debug).not.toBe('');
      await c.waitClosed();
    } finally {
      c.close();
    }
  });

  it.each<[string, Buffer, number]>([
    ['an uppercase header name', requestBlock({}, [['X-Agent', 'a']]), ERR.PROTOCOL_ERROR],
    ['a header value with a newline', requestBlock({}, [['x-agent', 'a\nb']]), ERR.PROTOCOL_ERROR],
    ['an unknown pseudo-header', requestBlock({}, [[':protocol', 'x']]), ERR.PROTOCOL_ERROR],
    ['a connection-specific header', requestBlock({}, [['connection', 'keep-alive']]), ERR.PROTOCOL_ERROR],
    ['te other than trailers', requestBlock({ te: 'gzip' }), ERR.PROTOCOL_ERROR],
  ])('resets a stream with %s and keeps the connection', async (_name, block, code) => {
    const c = await RawH2.open(t.grpcPort);
    try {
      c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, block), frameBytes(T.DATA, FL.END_STREAM, 1, ALLOW));
      expect(await c.reset(1)).toBe(code);
      c.send(check(3));
      expect(grpcStatus(await c.ended(3))).toBe('0');
    } finally {
      c.close();
    }
  });

  it.each<[string, (c: RawH2) => void, number]>([
    ['DATA past its content-length', (c) => c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock({}, [['content-length', '3']])), frameBytes(T.DATA, FL.END_STREAM, 1, ALLOW)), ERR.PROTOCOL_ERROR],
    ['DATA short of its content-length', (c) => c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock({}, [['content-length', String(ALLOW.length + 1)]])), frameBytes(T.DATA, FL.END_STREAM, 1, ALLOW)), ERR.PROTOCOL_ERROR],
    ['a content-length that is not a number', (c) => c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock({}, [['content-length', '1e3']])), frameBytes(T.DATA, FL.END_STREAM, 1, ALLOW)), ERR.PROTOCOL_ERROR],
    ['a PRIORITY that makes it depend on itself', (c) => c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock()), frameBytes(T.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 1, 16]))), ERR.PROTOCOL_ERROR],
    ['a stream WINDOW_UPDATE of 0', (c) => c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock()), frameBytes(T.WINDOW_UPDATE, 0, 1, u32(0))), ERR.PROTOCOL_ERROR],
  ])('resets a stream on %s (RFC 9113 8.1.1, 5.3.1, 6.9) and keeps the connection', async (_name, act, code) => {
    const c = await RawH2.open(t.grpcPort);
    try {
      act(c);
      expect(await c.reset(1)).toBe(code);
      c.send(check(3));
      expect(grpcStatus(await c.ended(3))).toBe('0');
    } finally {
      c.close();
    }
  });

  it('answers DATA after the client ended a stream with STREAM_CLOSED, even once the stream is answered (RFC 9113 6.1)', async () => {
    const c = await RawH2.open(t.grpcPort);
    try {
      c.send(check(1));
      expect(grpcStatus(await c.ended(1))).toBe('0');
      c.send(frameBytes(T.DATA, 0, 1, ALLOW));
      expect(await c.reset(1)).toBe(ERR.STREAM_CLOSED);
      c.send(check(3));
      expect(grpcStatus(await c.ended(3))).toBe('0');
    } finally {
      c.close();
    }
  });

  it('closes the connection with STREAM_CLOSED on HEADERS for a stream already closed, PROTOCOL_ERROR for one skipped', async () => {
    const closed = await RawH2.open(t.grpcPort);
    const skipped = await RawH2.open(t.grpcPort);
    try {
      closed.send(check(1));
      await closed.ended(1);
      closed.send(check(1));
      expect((await closed.goaway()).code).toBe(ERR.STREAM_CLOSED);
      skipped.send(check(5), check(3));
      expect((await skipped.goaway()).code).toBe(ERR.PROTOCOL_ERROR);
    } finally {
      closed.close();
      skipped.close();
    }
  });

  it('answers a request that is not gRPC only once it has ended, 405 with a text body', async () => {
    const c = await RawH2.open(t.grpcPort);
    try {
      c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock({ ':method': 'PUT' })));
      await c.expect((f) => f.type === T.SETTINGS && f.flags === FL.ACK);
      c.send(frameBytes(T.PING, 0, 0, Buffer.from('12345678')));
      await c.expect((f) => f.type === T.PING && f.flags === FL.ACK);
      expect(c.on(1)).toEqual([]);
      c.send(frameBytes(T.DATA, FL.END_STREAM, 1, Buffer.from('body')));
      const frames = await c.ended(1);
      expect(fields(frames[0]!)[':status']).toBe('405');
      expect(frames.filter((f) => f.type === T.DATA).map((f) => f.payload.toString()).join('')).toMatch(/gRPC server/);
      expect(frames.filter((f) => f.type === T.RST_STREAM)).toEqual([]);
    } finally {
      c.close();
    }
  });

  it('resets a stream missing :scheme', async () => {
    const c = await RawH2.open(t.grpcPort);
    try {
      const block = Buffer.concat([Buffer.from([0x83]), requestBlock().subarray(2)]); // POST, then :path onwards
      c.send(frameBytes(T.HEADERS, FL.END_HEADERS | FL.END_STREAM, 1, block));
      expect(await c.reset(1)).toBe(ERR.PROTOCOL_ERROR);
    } finally {
      c.close();
    }
  });

  it('refuses streams past MAX_CONCURRENT_STREAMS with REFUSED_STREAM, and serves again once they finish', async () => {
    // Built first, and sent after the handshake: on a loaded machine, building them could take
    // longer than the 300 ms the client has to send its preface and SETTINGS.
    const open: Buffer[] = [];
    for (let i = 0; i < 1000; i++) open.push(frameBytes(T.HEADERS, FL.END_HEADERS, 1 + 2 * i, requestBlock()));
    const c = await RawH2.open(t.grpcPort);
    try {
      await c.expect((f) => f.type === T.SETTINGS && f.flags === FL.ACK);
      // A thousand answers outgrow the default 64 KiB connection window: open it first.
      c.send(frameBytes(T.WINDOW_UPDATE, 0, 0, u32(1 << 24)), ...open, frameBytes(T.HEADERS, FL.END_HEADERS, 2001, requestBlock()));
      expect(await c.reset(2001)).toBe(ERR.REFUSED_STREAM);
      // Finishing the first thousand frees the slots.
      const bodies: Buffer[] = [];
      for (let i = 0; i < 1000; i++) bodies.push(frameBytes(T.DATA, FL.END_STREAM, 1 + 2 * i, ALLOW));
      c.send(...bodies);
      await c.ended(1999);
      c.send(check(2003));
      expect(grpcStatus(await c.ended(2003))).toBe('0');
    } finally {
      c.close();
    }
  });

  it('holds DATA back until the client opens its window, then sends it in pieces that fit', async () => {
    const c = await RawH2.open(t.grpcPort, settings([[4, 0]])); // INITIAL_WINDOW_SIZE 0
    try {
      c.send(check(1));
      await c.expect((f) => f.stream === 1 && f.type === T.HEADERS);
      // A PING answered after the HEADERS: the server has done all it would for stream 1 without window.
      c.send(frameBytes(T.PING, 0, 0, Buffer.from('barrier!')));
      await c.expect((f) => f.type === T.PING && f.flags === FL.ACK);
      expect(c.on(1).map((f) => f.type)).toEqual([T.HEADERS]);
      for (let i = 0; i < 100 && !c.on(1).some((f) => f.flags & FL.END_STREAM); i++) {
        c.send(frameBytes(T.WINDOW_UPDATE, 0, 1, u32(16)));
        await c.expect((f) => f.stream === 1 && f.type === T.DATA && c.on(1).filter((x) => x.type === T.DATA).length > i, `DATA piece ${i}`);
      }
      const frames = await c.ended(1);
      const data = frames.filter((f) => f.type === T.DATA);
      expect(data.length).toBeGreaterThan(1);
      expect(Math.max(...data.map((f) => f.payload.length))).toBeLessThanOrEqual(16);
      expect(Buffer.concat(data.map((f) => f.payload)).toString('latin1')).toContain('allowed');
      expect(grpcStatus(frames)).toBe('0');
    } finally {
      c.close();
    }
  });

  it('sends nothing more on a stream the client reset, and keeps serving', async () => {
    const c = await RawH2.open(t.grpcPort, settings([[4, 0]]));
    try {
      c.send(check(1));
      await c.expect((f) => f.stream === 1 && f.type === T.HEADERS);
      c.send(frameBytes(T.RST_STREAM, 0, 1, u32(ERR.NO_ERROR)), frameBytes(T.WINDOW_UPDATE, 0, 1, u32(1000)), settings([[4, 65_535]]));
      c.send(check(3));
      expect(grpcStatus(await c.ended(3))).toBe('0');
      expect(c.on(1).map((f) => f.type)).toEqual([T.HEADERS]);
    } finally {
      c.close();
    }
  });

  it('answers a request over grpc_max_receive_bytes early and asks the client to stop (RST_STREAM NO_ERROR)', async () => {
    const c = await RawH2.open(t.grpcPort);
    try {
      c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock()), frameBytes(T.DATA, 0, 1, Buffer.alloc(5000)));
      expect(await c.reset(1)).toBe(ERR.NO_ERROR);
      expect(grpcStatus(c.on(1))).toBe('8'); // RESOURCE_EXHAUSTED
      c.send(frameBytes(T.DATA, FL.END_STREAM, 1, Buffer.alloc(100)), check(3)); // late DATA is discarded
      expect(grpcStatus(await c.ended(3))).toBe('0');
    } finally {
      c.close();
    }
  });

  it('resets a stream on a PRIORITY frame of the wrong size, and answers nothing on it', async () => {
    const c = await RawH2.open(t.grpcPort);
    try {
      c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock()), frameBytes(T.PRIORITY, 0, 1, Buffer.alloc(4)), frameBytes(T.DATA, FL.END_STREAM, 1, ALLOW), check(3));
      expect(await c.reset(1)).toBe(ERR.FRAME_SIZE_ERROR);
      expect(grpcStatus(await c.ended(3))).toBe('0');
      expect(c.on(1).map((f) => f.type)).toEqual([T.RST_STREAM]);
    } finally {
      c.close();
    }
  });

  it('resets an answer the client leaves without window past http_request_timeout_ms (CANCEL)', async () => {
    const c = await RawH2.open(t.grpcPort, settings([[4, 0]]));
    try {
      c.send(check(1));
      expect(await c.reset(1)).toBe(ERR.CANCEL);
      expect(c.on(1).map((f) => f.type)).toEqual([T.HEADERS, T.RST_STREAM]);
      c.send(settings([[4, 65_535]]), check(3));
      expect(grpcStatus(await c.ended(3))).toBe('0');
    } finally {
      c.close();
    }
  });

  it('drops a connection that sends the preface but no SETTINGS within http_request_timeout_ms', async () => {
    const c = await RawH2.open(t.grpcPort, false);
    try {
      c.send(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));
      await c.waitClosed();
    } finally {
      c.close();
    }
  });

  it('drops a connection that never sends the preface within http_request_timeout_ms', async () => {
    const c = await RawH2.open(t.grpcPort, false);
    try {
      await c.waitClosed();
    } finally {
      c.close();
    }
  });

  it('drains with two GOAWAYs: 2^31-1 and a PING, then the last stream; later streams are not answered', async () => {
    // The default request timeout (10 s): stream 1 waits for its DATA across the shutdown.
    const own = await startApp(CONFIG.replace(', http_request_timeout_ms: 300', ''));
    const c = await RawH2.open(own.grpcPort);
    try {
      c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock()));
      await c.expect((f) => f.type === T.SETTINGS && f.flags === FL.ACK);
      const closing = own.app.shutdown(5000);
      const g = await c.goaway();
      expect([g.lastStream, g.code]).toEqual([2 ** 31 - 1, ERR.NO_ERROR]);
      const ping = await c.expect((f) => f.type === T.PING && f.flags === 0);
      // A stream already on its way when the first GOAWAY went out is still answered.
      c.send(check(3));
      expect(grpcStatus(await c.ended(3))).toBe('0');
      c.send(frameBytes(T.PING, FL.ACK, 0, ping.payload));
      const last = await c.expect((f) => f.type === T.GOAWAY && f.payload.readUInt32BE(0) !== 2 ** 31 - 1, 'second GOAWAY');
      expect([last.payload.readUInt32BE(0), last.payload.readUInt32BE(4)]).toEqual([3, ERR.NO_ERROR]);
      c.send(check(5), frameBytes(T.DATA, FL.END_STREAM, 1, ALLOW));
      expect(grpcStatus(await c.ended(1))).toBe('0');
      await c.waitClosed();
      expect(c.on(5)).toEqual([]);
      await closing;
    } finally {
      c.close();
      await own.close().catch(() => {});
    }
  });
});


describeWith('h2load', 'h2 transport under h2load (nghttp2, the HTTP/2 library Envoy used for years)', () => {
  it('answers every one of 20,000 Checks over 4 connections × 64 streams, and counts each decision', async () => {
    const t = await startApp(CONFIG);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'h2load-'));
      const body = join(dir, 'check.bin');
      writeFileSync(body, ALLOW);
      // Asynchronous: the server runs in this process.
      const { stdout: out } = await promisify(execFile)('h2load', ['-n', '20000', '-c', '4', '-m', '64', '-t', '1', '-d', body,
        '-H', 'content-type: application/grpc', '-H', 'te: trailers', `http://127.0.0.1:${t.grpcPort}/envoy.service.auth.v3.Authorization/Check`]);
      expect(out).toMatch(/requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored/);
      const metrics = await scrape(t.url('/metrics'));
      expect(metrics).toMatch(/ascend_authz_decisions_total\{adapter="envoy",decision="allowed"\} 20000/);
    } finally {
      await t.close();
    }
  });
});

/** An h2 server (10 streams per connection) whose Checks answer only when the test calls `pending[i]()`, and a raw client on it. */
async function slowChecks(): Promise<{ pending: Array<() => void>; server: H2GrpcServer; c: RawH2 }> {
  const pending: Array<() => void> = [];
  const methods = new Map<string, GrpcMethod>([['/envoy.service.auth.v3.Authorization/Check', {
    kind: 'unary',
    handle: () => new Promise<Buffer>((resolve) => pending.push(() => resolve(frame(Buffer.from([0x12, 0x00]))))),
  }]]);
  const server = new H2GrpcServer(methods, { maxReceiveBytes: 4096, limits: { maxConcurrentStreams: 10 } });
  const c = await RawH2.open(await server.listen('127.0.0.1', 0));
  return { pending, server, c };
}

describe('h2 transport output budgets and control-frame cap', () => {
  /** A raw client that sends PINGs as fast as its socket takes them and never reads. */
  async function pinger(port: number, stop: () => boolean): Promise<RawH2> {
    const c = await RawH2.open(port);
    c.socket.pause();
    c.socket.removeAllListeners('data');
    const burst = Buffer.concat(Array.from({ length: 512 }, () => frameBytes(T.PING, 0, 0, Buffer.alloc(8))));
    const pump = (): void => {
      while (!stop() && !c.socket.destroyed && c.socket.write(burst));
      if (!stop() && !c.socket.destroyed) c.socket.once('drain', pump);
    };
    pump();
    return c;
  }

  it('stops reading a connection whose unread output passes its limit: what it holds stops growing', async () => {
    const limit = 64 * 1024;
    const server = new H2GrpcServer(new Map(), { maxReceiveBytes: 4096, limits: { connectionOutputBytes: limit, maxControlFramesPerSecond: 1e9 } });
    const port = await server.listen('127.0.0.1', 0);
    let stop = false;
    const flood = await pinger(port, () => stop);
    try {
      await waitFor(() => server.unsent > limit, { what: 'unread output past the limit', timeoutMs: 15_000 });
      let most = 0;
      const until = Date.now() + 1000;
      await waitFor(() => {
        most = Math.max(most, server.unsent);
        return Date.now() > until;
      });
      // At most the limit plus the answers to one read's worth of PINGs (a 64 KiB read).
      expect(most).toBeLessThanOrEqual(limit + 64 * 1024 + 17 * 8);
      expect(server.stats.outputClosed).toBe(0);
    } finally {
      stop = true;
      flood.close();
      await server.shutdown(100);
    }
  });

  it('closes a connection paused for its unread output once it stays so for outputStallMs, though it then sends nothing', async () => {
    const limit = 64 * 1024;
    // The idle timeout (5 minutes) would be the only other way out.
    const server = new H2GrpcServer(new Map(), { maxReceiveBytes: 4096, limits: { connectionOutputBytes: limit, maxControlFramesPerSecond: 1e9, outputStallMs: 500 } });
    const port = await server.listen('127.0.0.1', 0);
    let stop = false;
    const flood = await pinger(port, () => stop);
    try {
      await waitFor(() => server.unsent > limit, { what: 'unread output past the limit', timeoutMs: 15_000 });
      stop = true; // quiet from now on, and still not reading
      const paused = Date.now();
      // Seen from the server: a client that does not read may not notice for a while.
      await waitFor(() => server.connections.size === 0, { what: 'the connection closed', timeoutMs: 10_000 });
      const after = Date.now() - paused;
      expect(after).toBeGreaterThanOrEqual(400);
      expect(after).toBeLessThan(5000);
      expect(server.stats.outputClosed).toBe(1);
      await waitFor(() => server.unsent === 0, { what: 'the closed connection\'s output given back' });
    } finally {
      stop = true;
      flood.close();
      await server.shutdown(100);
    }
  });

  it('closes connections holding more than their share once all together pass the process budget', async () => {
    const server = new H2GrpcServer(new Map(), { maxReceiveBytes: 4096, limits: { connectionOutputBytes: 16 * 1024 * 1024, outputBudgetBytes: 1024 * 1024, maxControlFramesPerSecond: 1e9 } });
    const port = await server.listen('127.0.0.1', 0);
    let stop = false;
    const floods = await Promise.all(Array.from({ length: 4 }, () => pinger(port, () => stop)));
    const quiet = await RawH2.open(port);
    try {
      await waitFor(() => server.stats.outputClosed >= 1, { what: 'a flooding connection closed', timeoutMs: 15_000 });
      // The quiet connection holds nothing and is still served.
      quiet.send(frameBytes(T.PING, 0, 0, Buffer.from('quiet!!!')));
      await quiet.expect((f) => f.type === T.PING && f.flags === FL.ACK);
      expect(quiet.closed).toBe(false);
    } finally {
      stop = true;
      for (const f of floods) f.close();
      quiet.close();
      await server.shutdown(100);
    }
  });

  it('closes a connection that sends more PING and SETTINGS frames in a second than allowed (ENHANCE_YOUR_CALM)', async () => {
    const server = new H2GrpcServer(new Map(), { maxReceiveBytes: 4096, limits: { maxControlFramesPerSecond: 100 } });
    const port = await server.listen('127.0.0.1', 0);
    const c = await RawH2.open(port);
    try {
      c.send(...Array.from({ length: 60 }, () => frameBytes(T.PING, 0, 0, Buffer.alloc(8))), ...Array.from({ length: 60 }, () => settings()));
      expect((await c.goaway()).code).toBe(ERR.ENHANCE_YOUR_CALM);
      expect(server.stats.controlFloods).toBe(1);
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });

  it('catches a PING flood in its first burst: at most a tenth of the per-second cap is answered', async () => {
    const server = new H2GrpcServer(new Map(), { maxReceiveBytes: 4096, limits: { maxControlFramesPerSecond: 1000 } });
    const port = await server.listen('127.0.0.1', 0);
    const c = await RawH2.open(port);
    try {
      // 288 control frames at once: within a second's 1,000, but not a burst any client sends.
      c.send(...Array.from({ length: 256 }, () => frameBytes(T.PING, 0, 0, Buffer.alloc(8))), ...Array.from({ length: 32 }, () => settings()));
      expect((await c.goaway()).code).toBe(ERR.ENHANCE_YOUR_CALM);
      expect(c.frames.filter((f) => f.type === T.PING && f.flags === FL.ACK).length).toBeLessThanOrEqual(100);
      expect(server.stats.controlFloods).toBe(1);
      // Hung up: a FIN after the GOAWAY, and a drain does not wait for the socket's linger.
      await c.waitClosed();
      const t0 = Date.now();
      await server.shutdown(10_000);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });

  it('answers PINGs and SETTINGS paced within the cap for as long as they come', async () => {
    const server = new H2GrpcServer(new Map(), { maxReceiveBytes: 4096, limits: { maxControlFramesPerSecond: 100 } });
    const port = await server.listen('127.0.0.1', 0);
    const c = await RawH2.open(port);
    try {
      // 80 a second, in bursts of 8 (the cap's bucket holds 10).
      for (let i = 0; i < 12; i++) {
        c.send(...Array.from({ length: 6 }, (_, k) => frameBytes(T.PING, 0, 0, Buffer.alloc(8, i * 8 + k))), settings(), settings());
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitFor(() => c.frames.filter((f) => f.type === T.PING && f.flags === FL.ACK).length === 72, { what: '72 PING ACKs' });
      expect(c.frames.some((f) => f.type === T.GOAWAY)).toBe(false);
      expect(server.stats.controlFloods).toBe(0);
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });
});

describe('h2 transport and a client GOAWAY', () => {
  it('answers it with its own GOAWAY naming the last stream, finishes the streams in flight, then closes', async () => {
    const { pending, server, c } = await slowChecks();
    try {
      c.send(check(1), check(3), frameBytes(T.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(ERR.NO_ERROR)])));
      const g = await c.goaway();
      expect([g.lastStream, g.code]).toEqual([3, ERR.NO_ERROR]);
      await waitFor(() => pending.length === 2, { what: 'streams 1 and 3 running' });
      for (const answer of pending.splice(0)) answer();
      expect(grpcStatus(await c.ended(1))).toBe('0');
      expect(grpcStatus(await c.ended(3))).toBe('0');
      await c.waitClosed();
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });
});

describe('h2 transport and a peer that cancels streams it never opened (gRPC C-core)', () => {
  it('ignores and counts RST_STREAM on an idle odd stream id once a stream was opened, and keeps serving', async () => {
    const { pending, server, c } = await slowChecks();
    try {
      c.send(check(1), frameBytes(T.RST_STREAM, 0, 3, u32(ERR.CANCEL)), frameBytes(T.RST_STREAM, 0, 7, u32(ERR.CANCEL)), check(9));
      await waitFor(() => pending.length === 2, { what: 'streams 1 and 9 running' });
      for (const answer of pending.splice(0)) answer();
      expect(grpcStatus(await c.ended(1))).toBe('0');
      expect(grpcStatus(await c.ended(9))).toBe('0');
      expect(server.stats.idleStreamResets).toBe(2);
      expect(c.frames.filter((f) => f.type === T.GOAWAY)).toEqual([]);
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });

  it('also before any stream, when a stream opens right after (C-core cancels its first call)', async () => {
    const { pending, server, c } = await slowChecks();
    try {
      c.send(settings(), frameBytes(T.RST_STREAM, 0, 1, u32(ERR.CANCEL)), check(3));
      await waitFor(() => pending.length === 1, { what: 'stream 3 running' });
      // Past the grace a connection error would have come (the h2spec case: nothing opens).
      await new Promise((r) => setTimeout(r, 400));
      for (const answer of pending.splice(0)) answer();
      expect(grpcStatus(await c.ended(3))).toBe('0');
      expect(server.stats.idleStreamResets).toBe(1);
      expect(c.frames.filter((f) => f.type === T.GOAWAY)).toEqual([]);
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });
});

describe('h2 transport limits a client cannot push past', () => {
  it('counts calls the client reset while they are still being decided against MAX_CONCURRENT_STREAMS (rapid reset)', async () => {
    const { pending, server, c } = await slowChecks();
    try {
      const opened: Buffer[] = [];
      for (let id = 1; id <= 19; id += 2) opened.push(check(id), frameBytes(T.RST_STREAM, 0, id, u32(ERR.CANCEL)));
      c.send(...opened, check(21));
      expect(await c.reset(21)).toBe(ERR.REFUSED_STREAM);
      expect(pending).toHaveLength(10);
      for (const answer of pending.splice(0)) answer();
      await waitFor(() => pending.length === 0);
      c.send(check(23));
      await waitFor(() => pending.length === 1, { what: 'stream 23 running' });
      pending[0]!();
      expect(grpcStatus(await c.ended(23))).toBe('0');
      expect(c.on(1).filter((f) => f.type !== T.RST_STREAM)).toEqual([]); // nothing sent on a reset stream
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });

  it('counts a call closed by any stream error (not only RST_STREAM) against MAX_CONCURRENT_STREAMS', async () => {
    const { pending, server, c } = await slowChecks();
    try {
      // DATA after END_STREAM: the server resets the stream (STREAM_CLOSED) while its call runs.
      const opened: Buffer[] = [];
      for (let id = 1; id <= 19; id += 2) opened.push(check(id), frameBytes(T.DATA, 0, id));
      c.send(...opened, check(21));
      expect(await c.reset(21)).toBe(ERR.REFUSED_STREAM);
      expect(await c.reset(1)).toBe(ERR.STREAM_CLOSED);
      for (const answer of pending.splice(0)) answer();
      // Answered, the slots are free again, and only ten of them.
      const more: Buffer[] = [];
      for (let id = 23; id <= 43; id += 2) more.push(frameBytes(T.HEADERS, FL.END_HEADERS, id, requestBlock()));
      c.send(...more);
      expect(await c.reset(43)).toBe(ERR.REFUSED_STREAM);
      expect(c.frames.filter((f) => f.type === T.RST_STREAM && f.stream >= 23 && f.stream < 43)).toEqual([]);
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });

  it('closes a connection idle past its idle timeout with GOAWAY NO_ERROR (the second after a second, unanswered PING)', async () => {
    const server = new H2GrpcServer(new Map(), { maxReceiveBytes: 4096, idleTimeoutMs: 200 });
    const port = await server.listen('127.0.0.1', 0);
    const c = await RawH2.open(port);
    try {
      const g = await c.goaway();
      expect([g.lastStream, g.code]).toEqual([2 ** 31 - 1, ERR.NO_ERROR]);
      const last = await c.expect((f) => f.type === T.GOAWAY && f.payload.readUInt32BE(0) === 0, 'second GOAWAY');
      expect(last.payload.readUInt32BE(4)).toBe(ERR.NO_ERROR);
      await c.waitClosed();
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });

  it('leaves a connection whose only stream is a quiet Watch open past the idle timeout', async () => {
    const methods = new Map<string, GrpcMethod>([['/grpc.health.v1.Health/Watch', {
      kind: 'stream',
      handle: (_m, call) => call.write(frame(Buffer.from([0x08, 0x01]))),
    }]]);
    const server = new H2GrpcServer(methods, { maxReceiveBytes: 4096, idleTimeoutMs: 200 });
    const port = await server.listen('127.0.0.1', 0);
    const watch = await RawH2.open(port);
    let idle: RawH2 | undefined;
    try {
      watch.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock({ ':path': '/grpc.health.v1.Health/Watch' })), frameBytes(T.DATA, FL.END_STREAM, 1, frame(Buffer.alloc(0))));
      await watch.expect((f) => f.stream === 1 && f.type === T.DATA, 'the first Watch message');
      // A second connection opened later, with no streams, is closed by its idle timeout:
      // by then the Watch connection has been idle at least as long.
      idle = await RawH2.open(port);
      await idle.goaway();
      expect(watch.frames.filter((f) => f.type === T.GOAWAY)).toEqual([]);
      expect(watch.closed).toBe(false);
    } finally {
      watch.close();
      idle?.close();
      await server.shutdown(100);
    }
  });

  it('counts the handshake deadline from accept: trickling the preface does not extend it', async () => {
    const server = new H2GrpcServer(new Map(), { maxReceiveBytes: 4096, requestTimeoutMs: 300 });
    const port = await server.listen('127.0.0.1', 0);
    const c = await RawH2.open(port, false);
    try {
      // The preface, then a SETTINGS frame of 16,380 bytes, one byte every 20 ms: never idle,
      // never finished. For 3 s at most; the server must have closed it long before.
      const bytes = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frameBytes(T.SETTINGS, 0, 0, Buffer.alloc(16_380))]);
      for (let i = 0; i < 150 && !c.closed; i++) {
        c.send(bytes.subarray(i, i + 1));
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(c.closed).toBe(true);
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });

  it('closes the connection that pushes the whole process past its budget of unfinished requests, and gives the budget back', async () => {
    const methods = new Map<string, GrpcMethod>([['/envoy.service.auth.v3.Authorization/Check', { kind: 'unary', handle: () => frame(Buffer.alloc(0)) }]]);
    const server = new H2GrpcServer(methods, { maxReceiveBytes: 4 * 1024 * 1024, maxBufferedBytes: 200_000 });
    const port = await server.listen('127.0.0.1', 0);
    const hold = (c: RawH2) => {
      c.send(frameBytes(T.HEADERS, FL.END_HEADERS, 1, requestBlock()), ...Array.from({ length: 8 }, () => frameBytes(T.DATA, 0, 1, Buffer.alloc(16_384))));
    };
    const first = await RawH2.open(port);
    const second = await RawH2.open(port);
    try {
      hold(first); // 128 KiB: within the budget
      await waitFor(() => server.buffered === 8 * 16_384, { what: 'the first connection holding 128 KiB' });
      hold(second); // another 128 KiB: over it
      expect((await second.goaway()).code).toBe(ERR.ENHANCE_YOUR_CALM);
      await second.waitClosed();
      await waitFor(() => server.buffered === 8 * 16_384, { what: 'the second connection\'s bytes given back' });
      first.send(frameBytes(T.DATA, FL.END_STREAM, 1));
      expect(grpcStatus(await first.ended(1))).not.toBeUndefined();
      expect(server.buffered).toBe(0);
      expect(first.frames.some((f) => f.type === T.GOAWAY)).toBe(false);
    } finally {
      first.close();
      second.close();
      await server.shutdown(100);
    }
  });

  it('closes a connection holding more than 64 MiB of unfinished requests (ENHANCE_YOUR_CALM)', async () => {
    const methods = new Map<string, GrpcMethod>([['/envoy.service.auth.v3.Authorization/Check', { kind: 'unary', handle: () => frame(Buffer.alloc(0)) }]]);
    const server = new H2GrpcServer(methods, { maxReceiveBytes: 4 * 1024 * 1024 });
    const port = await server.listen('127.0.0.1', 0);
    const c = await RawH2.open(port);
    try {
      // 1 MiB (one stream window) on each of 70 streams, never ended, within the connection
      // window the server grants (it grants on receipt, so only this cap stops the client).
      const chunk = Buffer.alloc(16_384);
      let sent = 0;
      const granted = () => 65_535 + c.frames.filter((f) => f.type === T.WINDOW_UPDATE && f.stream === 0).reduce((n, f) => n + f.payload.readUInt32BE(0), 0);
      for (let id = 1; id <= 139 && !c.closed; id += 2) {
        c.send(frameBytes(T.HEADERS, FL.END_HEADERS, id, requestBlock()));
        for (let i = 0; i < 64 && !c.closed; i++) {
          await waitFor(() => c.closed || sent + chunk.length <= granted(), { what: 'connection window' });
          c.send(frameBytes(T.DATA, 0, id, chunk));
          sent += chunk.length;
        }
      }
      const g = await c.goaway();
      expect(g.code).toBe(ERR.ENHANCE_YOUR_CALM);
      expect(sent).toBeGreaterThan(64 * 1024 * 1024);
    } finally {
      c.close();
      await server.shutdown(100);
    }
  });
});
