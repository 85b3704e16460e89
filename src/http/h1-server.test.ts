import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastRoutes, type FastRoute } from './fast-routes.js';
import { serveHttp1 } from './h1-server.js';
import type { RuntimeState } from '../pipeline/state.js';

/** Bodies by query: ASCII, and UTF-8 that a latin1 write would mangle. */
const BODIES: Record<string, string> = { a: '{"reason":"plain"}', u: '{"reason":"café ☃ 𝄞"}' };

/** GET /t?a|u answers BODIES[q]; ?bad sets a header name node:http refuses. */
const ROUTE: FastRoute = {
  methods: ['GET'], path: '/t', body: 'none', bodyLimit: 0,
  handle: (req, reply) => {
    const q = req.url.slice(req.url.indexOf('?') + 1);
    if (q === 'bad') reply.header('bad name', 'x');
    reply.header('content-type', 'application/json').send(BODIES[q] ?? '');
  },
  fail: (_err, _req, reply) => void reply.code(500).send({ reason: 'refused' }),
};

/** Sends `text` in one write and reads until the server closes. */
function exchange(port: number, text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => s.write(text));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Splits answers on their heads and Content-Length (bytes, not characters). */
function answers(raw: Buffer): Array<{ head: string; body: Buffer }> {
  const out = [];
  let pos = 0;
  while (pos < raw.length) {
    const end = raw.indexOf('\r\n\r\n', pos);
    const head = raw.toString('latin1', pos, end);
    const length = Number(/content-length: (\d+)/i.exec(head)![1]);
    out.push({ head, body: raw.subarray(end + 4, end + 4 + length) });
    pos = end + 4 + length;
  }
  return out;
}

describe('the h1 server writes answers', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer(() => {
      throw new Error('node:http was not to answer here');
    });
    const routes = new FastRoutes({} as RuntimeState, 100);
    routes.add(ROUTE);
    serveHttp1(server, routes, { requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxHeaderBytes: 16_384, maxHeaders: 100 });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const get = (q: string, close = false) => `GET /t?${q} HTTP/1.1\r\nHost: t\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;

  it('as UTF-8 bytes, ASCII and non-ASCII answers pipelined in one batch', async () => {
    const raw = await exchange(port, get('a') + get('u') + get('a') + get('u', true));
    const got = answers(raw);
    expect(got.map((a) => a.body.toString('utf8'))).toEqual([BODIES.a, BODIES.u, BODIES.a, BODIES.u]);
    expect(got[1]!.head).toContain(`content-length: ${Buffer.byteLength(BODIES.u!)}\r\n`);
  });

  it('refuses a header name node:http refuses, every time (a refused name is not remembered)', async () => {
    for (let i = 0; i < 2; i++) {
      // The name stays on the reply, so its error answer is refused too: the plain 500 that closes.
      const got = answers(await exchange(port, get('bad') + get('a')));
      expect(got.map((a) => a.head.slice(0, 12))).toEqual(['HTTP/1.1 500']);
      expect(got[0]!.head).not.toContain('bad name');
      expect(got[0]!.head).toContain('connection: close\r\n');
    }
  });
});
