/**
 * The control plane client's connections (src/evaluator/h1-pool.ts) against real servers on
 * loopback: node:http (keep-alive, chunked answers, Connection: close, its own idle timeout), a
 * raw socket server that closes idle connections without saying so, one that never answers, and
 * a closed port; and raw servers that close a kept-alive connection as the next request arrives
 * (the idle-close race), which the pool answers by sending the request once more on a new one.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { H1Pool } from '../src/evaluator/h1-pool.js';
import { RemoteEvaluator } from '../src/evaluator/remote.js';
import { RemoteMetrics } from '../src/evaluator/remote-metrics.js';

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

/**
 * What a raw server does with request `n` (from 1) of its connection `conn` (from 1): answer it
 * (keep-alive, its own body), close without a byte ('fin'), reset ('rst'), close 400 ms later
 * ('late_fin'), send the start of a status line and close ('partial'), or never answer ('hang').
 * A request is one 'data' event: the pool writes each whole, one at a time per connection.
 */
type Act = 'answer' | 'fin' | 'rst' | 'late_fin' | 'partial' | 'hang';

function closingServer(plan: (conn: number, n: number) => Act, answer = (body: string) => body): Server {
  let conns = 0;
  return createServer((s: Socket) => {
    const conn = ++conns;
    let n = 0;
    s.on('error', () => {});
    s.on('data', (chunk: Buffer) => {
      const act = plan(conn, ++n);
      if (act === 'answer') {
        const body = answer(chunk.toString('latin1').split('\r\n\r\n')[1] ?? '');
        s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: no-store\r\nx-ascend-request-facts: none\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      } else if (act === 'fin') s.destroy();
      else if (act === 'rst') s.resetAndDestroy();
      else if (act === 'late_fin') setTimeout(() => s.destroy(), 400);
      else if (act === 'partial') s.end('HTTP/1.1 200 OK\r\n');
    });
  });
}

/** A pool that counts its resends. */
function counting(url: URL, connections = 1): { pool: H1Pool; resends: () => number } {
  let n = 0;
  return { pool: new H1Pool(url, { connections, onResend: () => n++ }), resends: () => n };
}

const outcome = (x: { outcome: string; text: string }) => `${x.outcome} ${x.text}`;

describe('H1Pool: a reused connection closed before any byte of the answer', () => {
  for (const close of ['fin', 'rst'] as const) {
    it(`sends the request once more on a new connection (${close === 'fin' ? 'closed' : 'reset'} as it arrived)`, async () => {
      const { url, connections } = await listen(closingServer((conn, n) => (conn === 1 && n >= 2 ? close : 'answer')));
      const { pool, resends } = counting(url);
      expect(outcome(await pool.request(req('1'), 2000))).toBe('ok 1');
      expect(outcome(await pool.request(req('2'), 2000))).toBe('ok 2');
      expect([connections(), resends()]).toEqual([2, 1]);
      expect(outcome(await pool.request(req('3'), 2000))).toBe('ok 3'); // the new connection, kept alive
      expect([connections(), resends()]).toEqual([2, 1]);
      await pool.close();
    });
  }

  it('a connection that waited in the pool unused counts as reused too', async () => {
    // A request that timed out before its connection was ready leaves the connection idle and
    // unused: the server may close it for idleness as well. Made from a setImmediate callback,
    // with its 1 ms past before the loop turns, its timer fires before the connect is read.
    const { url, connections } = await listen(closingServer((conn) => (conn === 1 ? 'fin' : 'answer')));
    const { pool, resends } = counting(url);
    const timedOut = await new Promise<{ x: Promise<{ outcome: string }> }>((resolve) => setImmediate(() => {
      const x = pool.request(req('0'), 1);
      for (const until = performance.now() + 5; performance.now() < until;);
      resolve({ x });
    }));
    expect((await timedOut.x).outcome).toBe('timeout');
    await new Promise((r) => setTimeout(r, 50)); // connected by now, and idle
    expect(connections()).toBe(1);
    expect(outcome(await pool.request(req('1'), 2000))).toBe('ok 1');
    expect([connections(), resends()]).toEqual([2, 1]);
    await pool.close();
  });

  it('a server that closes every request after the first: the call fails after exactly one resend', async () => {
    const { url, connections } = await listen(closingServer((conn, n) => (conn === 1 && n === 1 ? 'answer' : 'fin')));
    const { pool, resends } = counting(url);
    expect(outcome(await pool.request(req('1'), 2000))).toBe('ok 1');
    expect((await pool.request(req('2'), 2000)).outcome).toBe('error');
    expect([connections(), resends()]).toEqual([2, 1]);
    // No reused connection is left: the next call's new connection fails, and that is final.
    expect((await pool.request(req('3'), 2000)).outcome).toBe('error');
    expect([connections(), resends()]).toEqual([3, 1]);
    await pool.close();
  });

  it("a new connection's failure is never resent", async () => {
    const { url, connections } = await listen(closingServer(() => 'rst'));
    const { pool, resends } = counting(url, 2);
    const all = await Promise.all([1, 2, 3].map((i) => pool.request(req(`${i}`), 2000)));
    expect(all.map((x) => x.outcome)).toEqual(['error', 'error', 'error']);
    expect(resends()).toBe(0);
    expect(connections()).toBeLessThanOrEqual(3);
    await pool.close();
  });

  it('not resent once a byte of the answer arrived', async () => {
    const { url, connections } = await listen(closingServer((conn, n) => (n === 1 ? 'answer' : 'partial')));
    const { pool, resends } = counting(url);
    expect(outcome(await pool.request(req('1'), 2000))).toBe('ok 1');
    expect((await pool.request(req('2'), 2000)).outcome).toBe('error');
    expect([connections(), resends()]).toEqual([1, 0]);
    await pool.close();
  });

  it("the resend has what is left of the call's time, not a new budget", async () => {
    // Closed 400 ms into a 600 ms call; the new connection never answers: timed out at 600 ms
    // from the call's start (a fresh budget would end at 1,000 ms).
    const { url, connections } = await listen(closingServer((conn, n) => (conn === 1 ? (n === 1 ? 'answer' : 'late_fin') : 'hang')));
    const { pool, resends } = counting(url);
    expect(outcome(await pool.request(req('1'), 2000))).toBe('ok 1');
    const t0 = performance.now();
    expect((await pool.request(req('2'), 600)).outcome).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(950);
    expect([connections(), resends()]).toEqual([2, 1]);
    await pool.close();
  });

  it('the resent request goes first; requests waiting behind it keep their turn', async () => {
    const { url, connections } = await listen(closingServer((conn, n) => (conn === 1 && n === 2 ? 'fin' : 'answer')));
    const { pool, resends } = counting(url, 1);
    expect(outcome(await pool.request(req('0'), 2000))).toBe('ok 0');
    const all = await Promise.all(['a', 'b', 'c', 'd'].map((b) => pool.request(req(b), 2000)));
    expect(all.map(outcome)).toEqual(['ok a', 'ok b', 'ok c', 'ok d']);
    expect([connections(), resends()]).toEqual([2, 1]);
    await pool.close();
  });
});

describe('RemoteEvaluator: the control plane closes a kept-alive connection as a call is written', () => {
  it('decides from the answer on a new connection (not per fail_mode), counted in ascend_remote_retries_total', async () => {
    const decision = JSON.stringify({ decision: 'allowed', code: 'policy_allow', reason: 'ok' });
    const { url, connections } = await listen(closingServer((conn, n) => (conn === 1 && n === 2 ? 'rst' : 'answer'), () => decision));
    const registry = new Registry();
    const ev = new RemoteEvaluator({
      config: { mode: 'remote', url: url.href, timeout_ms: 2000, stale_if_error_ms: 0, connections: 4, breaker: { failures: 1, open_ms: 60_000, half_open_probes: 1 } } as never,
      apiKey: 'k-test', cache: { enabled: false, ttl_ms: 0, max_entries: 10 }, metrics: new RemoteMetrics(registry), logger: pino({ level: 'silent' }),
    });
    const rt = { fail_mode: 'closed', responses: { denied_status: 403, pending_status: 403, unavailable_status: 503, retry_after_seconds: 30 } } as const;
    const input = { action: { agent_id: 'bot', action_type: 'orders.read', resource: 'orders', parameters: {}, context: {} }, request: undefined };
    for (let i = 0; i < 2; i++) {
      const a = await ev.decide(input as never, undefined, rt as never);
      expect([a.decision.decision, a.decision.code, a.failure]).toEqual(['allowed', 'policy_allow', undefined]);
    }
    const value = async (name: string, labels: Record<string, string> = {}) =>
      (await registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(await value('ascend_remote_retries_total')).toBe(1);
    expect([await value('ascend_remote_requests_total', { outcome: 'ok' }), await value('ascend_remote_requests_total', { outcome: 'error' })]).toEqual([2, 0]);
    expect([ev.breaker.state, connections()]).toEqual(['closed', 2]);
    await ev.close();
  });
});
