/**
 * The control plane client's connections (src/evaluator/h1-pool.ts) against real servers on
 * loopback: node:http (keep-alive, chunked answers, Connection: close, its own idle timeout), a
 * raw socket server that closes idle connections without saying so, one that never answers, and
 * a closed port.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { H1Pool } from '../src/evaluator/h1-pool.js';

const servers: (Server | HttpServer)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { (s as HttpServer).closeAllConnections?.(); s.close(() => r(undefined)); })));
});

async function listen<S extends Server | HttpServer>(s: S): Promise<{ server: S; url: URL; connections: () => number }> {
  let n = 0;
  s.on('connection', () => n++);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  return { server: s, url: new URL(`http://127.0.0.1:${(s.address() as { port: number }).port}/`), connections: () => n };
}

const req = (body = '{}') => `POST /api/v1/actions/submit HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;

function echo(handler?: (body: string, res: import('node:http').ServerResponse) => void): HttpServer {
  return createHttpServer((rq, res) => {
    let body = '';
    rq.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => {
      if (handler) return handler(body, res);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=5', 'x-ascend-request-facts': 'none' }).end(JSON.stringify({ echo: body }));
    });
  });
}

describe('H1Pool', () => {
  it('reuses one keep-alive connection for serial requests, and reads the answer and its headers', async () => {
    const { url, connections } = await listen(echo());
    const pool = new H1Pool(url, { connections: 4 });
    for (let i = 0; i < 20; i++) {
      const x = await pool.request(req(`{"i":${i}}`), 2000);
      expect([x.outcome, x.status, JSON.parse(x.text).echo, x.cacheControl, x.facts]).toEqual(['ok', 200, `{"i":${i}}`, 'max-age=5', 'none']);
    }
    expect(connections()).toBe(1);
    await pool.close();
  });

  it('opens at most `connections` sockets; requests beyond wait their turn', async () => {
    const { url, connections } = await listen(echo((body, res) => setTimeout(() => res.end(body), 20)));
    const pool = new H1Pool(url, { connections: 2 });
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.request(req(`${i}`), 5000)));
    expect(all.map((x) => x.text)).toEqual(Array.from({ length: 10 }, (_, i) => `${i}`));
    expect(connections()).toBe(2);
    await pool.close();
  });

  it('reads chunked answers, and opens a new connection after Connection: close', async () => {
    const { url, connections } = await listen(echo((body, res) => {
      res.setHeader('connection', 'close');
      res.write('{"a":');
      setTimeout(() => res.end(`${JSON.stringify(body)}}`), 5);
    }));
    const pool = new H1Pool(url, { connections: 1 });
    for (let i = 0; i < 3; i++) expect(JSON.parse((await pool.request(req(`${i}`), 2000)).text)).toEqual({ a: `${i}` });
    expect(connections()).toBe(3);
    await pool.close();
  });

  it('drops an idle connection the server closed without a word, and answers on a new one', async () => {
    const { url, connections } = await listen(createServer((s: Socket) => {
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        setTimeout(() => s.end(), 50); // an idle timeout shorter than the client's, unannounced
      });
    }));
    const pool = new H1Pool(url, { connections: 1 });
    expect((await pool.request(req(), 2000)).text).toBe('ok');
    await new Promise((r) => setTimeout(r, 200));
    const again = await pool.request(req(), 2000);
    expect([again.outcome, again.text]).toEqual(['ok', 'ok']);
    expect(connections()).toBe(2);
    await pool.close();
  });

  it("replaces a keep-alive connection node:http's keepAliveTimeout closed, failing no request", async () => {
    // The server's idle timeout (100 ms) is far below the pool's own (4 s without a Keep-Alive
    // hint, and the answer gives none: the handler writes Connection itself, so node adds no
    // `Keep-Alive: timeout`): every connection is closed by the server while idle in the pool.
    const server = createHttpServer({ keepAliveTimeout: 100 }, (rq, res) => {
      rq.resume().on('end', () => res.writeHead(200, { connection: 'keep-alive', 'content-length': '2' }).end('ok'));
    });
    const closedByServer: Promise<unknown>[] = [];
    server.on('connection', (s: Socket) => closedByServer.push(new Promise((r) => s.once('close', r))));
    const { url, connections } = await listen(server);
    const pool = new H1Pool(url, { connections: 1 });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await closedByServer[i - 1]; // the server's idle close of the connection that last answered
      const x = await pool.request(req(), 2000);
      outcomes.push(`${x.outcome} ${x.status} ${x.text}`);
    }
    expect(outcomes).toEqual(Array(3).fill('ok 200 ok'));
    expect(connections()).toBe(3);
    await pool.close();
  });

  it('times out on a server that never answers, within the budget, and the next request gets a fresh connection', async () => {
    let answer = false;
    const { url, connections } = await listen(createServer((s: Socket) => {
      s.on('data', () => { if (answer) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'); });
    }));
    const pool = new H1Pool(url, { connections: 1 });
    const t0 = performance.now();
    expect((await pool.request(req(), 150)).outcome).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(1500);
    answer = true;
    expect((await pool.request(req(), 2000)).text).toBe('ok');
    expect(connections()).toBe(2);
    await pool.close();
  });

  it('a closed port: error, promptly, for each request', async () => {
    const { server, url } = await listen(createServer());
    await new Promise((r) => server.close(r));
    servers.splice(servers.indexOf(server), 1);
    const pool = new H1Pool(url, { connections: 2 });
    const all = await Promise.all([1, 2, 3].map(() => pool.request(req(), 5000)));
    expect(all.map((x) => x.outcome)).toEqual(['error', 'error', 'error']);
    await pool.close();
  });

  it('a malformed answer is an error and the connection is not reused', async () => {
    const { url, connections } = await listen(createServer((s: Socket) => s.once('data', () => s.write('NOPE\r\n\r\n'))));
    const pool = new H1Pool(url, { connections: 1 });
    expect((await pool.request(req(), 2000)).outcome).toBe('error');
    expect((await pool.request(req(), 2000)).outcome).toBe('error');
    expect(connections()).toBe(2);
    await pool.close();
  });
});
