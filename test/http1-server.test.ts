/**
 * The gateway endpoints' own HTTP/1.1 server (src/http/h1-server.ts). Two sidecars from one
 * config, one with `server.http_transport: node`, get the same bytes over raw sockets and must
 * send back the same bytes (dates and action ids aside): pipelined requests, requests split
 * byte by byte, and every request outside the strict subset — smuggling attempts above all —
 * which the h1 server must hand, with the connection, to node:http, so that they are answered
 * exactly as node:http answers them. Its counters show which server answered, so no case can
 * pass by both sides going through node. Then its limits: the request timeout (a slowloris),
 * the keep-alive timeout, and the listener closing.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http1Of, type H1Server } from '../src/http/h1-server.js';
import { startApp, type TestApp } from './helpers/app.js';
import { TestPki } from './helpers/certs.js';
import { exchange, type Exchange } from './helpers/raw-http1.js';
import { tempDir } from './helpers/tmp.js';
import { describeWith } from './helpers/tools.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const withServer = (extra: string) => CORE.replace(/^server: \{(.*)\}$/m, `server: {$1, ${extra}}`);
const FIXTURES = JSON.parse(readFileSync(new URL('./fixtures/kong/plugin-requests.json', import.meta.url), 'utf8')) as Array<{ name: string; expected_request: Record<string, unknown> }>;
const kongBody = (name: string) => JSON.stringify(FIXTURES.find((c) => c.name === name)!.expected_request);

const ALLOW = kongBody('orders-read-by-crawler');
const DENY = kongBody('admin-read-denied');
const kong = (body: string, extra = '') => `POST /kong/v1/authorize HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const forwardAuth = (uri: string, extra = '') => `GET /forward-auth HTTP/1.1\r\nHost: sidecar\r\nX-Original-URI: ${uri}\r\nX-Original-Method: GET\r\nX-Agent-Id: crawler\r\n${extra}\r\n`;
const chunked = (body: string) => `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;

const bytes = (s: string): string[] => [...s];

describe('the h1 server answers as node:http does', () => {
  let h1App: TestApp;
  let nodeApp: TestApp;
  let h1: H1Server;
  beforeAll(async () => {
    h1App = await startApp(CORE);
    nodeApp = await startApp(withServer('http_transport: node'));
    h1 = http1Of(h1App.app.http.server)!;
  });
  afterAll(async () => {
    await h1App?.close();
    await nodeApp?.close();
  });

  it('is on by default and off with http_transport: node', () => {
    expect(h1).toBeDefined();
    expect(http1Of(nodeApp.app.http.server)).toBeUndefined();
  });

  /** Both sidecars get `parts`; their answers must be the same bytes. Returns what h1 answered itself, and handed off. */
  async function same(parts: Array<string | Buffer>, opts?: { gapMs?: number }): Promise<{ answered: number; handedOff: number; a: Exchange }> {
    const before = { answered: h1.answered, handedOff: h1.handedOff };
    const a = await exchange(h1App.httpPort, parts, opts);
    const b = await exchange(nodeApp.httpPort, parts, opts);
    expect(a.text).toEqual(b.text);
    expect(a.closed).toBe(b.closed);
    return { answered: h1.answered - before.answered, handedOff: h1.handedOff - before.handedOff, a };
  }

  it('keep-alive requests, pipelined in one write, answered in order', async () => {
    const r = await same([kong(ALLOW) + kong(DENY) + forwardAuth('/v1/orders/o-1') + kong(ALLOW)]);
    expect(r.answered).toBe(4);
    expect(r.handedOff).toBe(0);
    expect(r.a.text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(r.a.text).toContain('"allow":false');
    expect(r.a.closed).toBe(false);
  });

  it('a request split byte by byte', async () => {
    const r = await same(bytes(kong(ALLOW)), { gapMs: 1 });
    expect(r.answered).toBe(1);
    expect(r.a.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it('a 100 KB body in packets of 16 KB', async () => {
    const big = kong(JSON.stringify({ ...JSON.parse(ALLOW), pad: 'x'.repeat(100_000) }));
    const parts: string[] = [];
    for (let i = 0; i < big.length; i += 16_384) parts.push(big.slice(i, i + 16_384));
    const r = await same([...parts, kong(ALLOW)], { gapMs: 5 });
    expect(r.answered).toBe(2);
    expect(r.a.text.match(/"allow":true/g)).toHaveLength(2);
  });

  it('Connection: close is answered with Connection: close, and the connection ends', async () => {
    const r = await same([kong(ALLOW, 'Connection: close\r\n')]);
    expect(r.answered).toBe(1);
    expect(r.a.closed).toBe(true);
    expect(r.a.text).toContain('Connection: close\r\n');
  });

  it('HEAD and the Envoy path prefix', async () => {
    const r = await same([forwardAuth('/v1/orders/o-1').replace('GET', 'HEAD') + 'GET /forward-auth/v1/orders/o-1 HTTP/1.1\r\nHost: s\r\nX-Agent-Id: crawler\r\n\r\n']);
    expect(r.answered).toBe(2);
  });

  // Each of these is outside the strict subset: node:http must read it, and answer it as it always did.
  const HANDED_OFF: Record<string, Array<string | Buffer>> = {
    'CL.TE: Content-Length and Transfer-Encoding': [`POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /forward-auth HTTP/1.1\r\nHost: s\r\n\r\n`],
    'TE.CL: Transfer-Encoding first': [`POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nxxxxx\r\n0\r\n\r\n`],
    'two Content-Lengths': [`POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nContent-Length: ${ALLOW.length}\r\nContent-Length: 2\r\n\r\n${ALLOW}`],
    'two equal Content-Lengths': [`POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nContent-Length: ${ALLOW.length}\r\nContent-Length: ${ALLOW.length}\r\n\r\n${ALLOW}`],
    'Content-Length with a sign': [`POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nContent-Length: +${ALLOW.length}\r\n\r\n${ALLOW}`],
    'Transfer-Encoding: chunked (a real answer, through fastify)': [`POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(ALLOW)}`],
    'Transfer-Encoding obfuscated': [`POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nTransfer-Encoding : chunked\r\nContent-Length: ${ALLOW.length}\r\n\r\n${ALLOW}`],
    'obs-fold': [`GET /forward-auth HTTP/1.1\r\nHost: s\r\nX-Original-URI: /v1/orders/o-1\r\nX-Agent-Id: crawler\r\n  admin\r\n\r\n`],
    'bare LF line ends': ['GET /forward-auth HTTP/1.1\nHost: s\nX-Original-URI: /v1/orders/o-1\nX-Agent-Id: crawler\n\n'],
    'a bare CR in a value': ['GET /forward-auth HTTP/1.1\r\nHost: s\r\nX-Agent-Id: crawler\rX-Original-URI: /admin\r\n\r\n'],
    'a NUL in a value': ['GET /forward-auth HTTP/1.1\r\nHost: s\r\nX-Agent-Id: craw\0ler\r\n\r\n'],
    'HTTP/1.0': ['GET /forward-auth HTTP/1.0\r\nHost: s\r\nX-Original-URI: /v1/orders/o-1\r\nX-Agent-Id: crawler\r\n\r\n'],
    'Expect: 100-continue': [kong(ALLOW, 'Expect: 100-continue\r\n')],
    'Upgrade: websocket': [forwardAuth('/v1/orders/o-1', 'Connection: Upgrade\r\nUpgrade: websocket\r\n')],
    'Connection with another token': [forwardAuth('/v1/orders/o-1', 'Connection: keep-alive, x-agent-id\r\n')],
    'no Host': ['GET /forward-auth HTTP/1.1\r\nX-Original-URI: /v1/orders/o-1\r\nX-Agent-Id: crawler\r\n\r\n'],
    'two Hosts': [forwardAuth('/v1/orders/o-1', 'Host: other\r\n')],
    'a header twice': [forwardAuth('/v1/orders/o-1', 'X-Agent-Id: admin\r\n')],
    'absolute-form target': ['GET http://sidecar/forward-auth HTTP/1.1\r\nHost: s\r\nX-Original-URI: /v1/orders/o-1\r\nX-Agent-Id: crawler\r\n\r\n'],
    'a space before the colon': ['GET /forward-auth HTTP/1.1\r\nHost: s\r\nX-Agent-Id : crawler\r\n\r\n'],
    'head over the byte limit': [forwardAuth('/v1/orders/o-1', `X-Pad: ${'a'.repeat(20_000)}\r\n`)],
    'a TLS ClientHello on the plain port': [Buffer.from('16030100a5010000a103035f', 'hex')],
    'a request after a Connection: close one, in the same packet': [kong(ALLOW, 'Connection: close\r\n') + kong(ALLOW)],
    'unknown path': ['GET /nowhere HTTP/1.1\r\nHost: s\r\n\r\n'],
    'another method': ['PROPFIND /forward-auth HTTP/1.1\r\nHost: s\r\n\r\n'],
    'chunked request smuggled behind a fast one (pipelined)': [kong(ALLOW) + `POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(DENY)}` + kong(ALLOW)],
  };

  for (const [name, parts] of Object.entries(HANDED_OFF)) {
    it(`handed to node:http: ${name}`, async () => {
      const r = await same(parts);
      expect(r.handedOff).toBe(1);
      expect(r.a.text).toMatch(/^HTTP\/1\.1 \d{3} /);
    });
  }

  it('the same smuggling attempt split byte by byte', async () => {
    const r = await same(bytes(HANDED_OFF['CL.TE: Content-Length and Transfer-Encoding']![0] as string), { gapMs: 1 });
    expect(r.handedOff).toBe(1);
    expect(r.answered).toBe(0);
  });

  it('200 pipelined requests in one write, read only once all are sent: every answer, in order', async () => {
    const before = h1.answered;
    const bodies = Array.from({ length: 200 }, (_, i) => (i % 3 === 2 ? DENY : ALLOW));
    const r = await exchange(h1App.httpPort, [bodies.map((b) => kong(b)).join('')], { quietMs: 1000 });
    expect(h1.answered - before).toBe(200);
    expect(r.text.match(/"allow":(true|false)/g)).toEqual(bodies.map((b) => (b === DENY ? '"allow":false' : '"allow":true')));
  });

  it('a fast request, then one node must read, then a fast one: h1 answers the first, node the rest, in order', async () => {
    const r = await same(HANDED_OFF['chunked request smuggled behind a fast one (pipelined)']!);
    expect(r.answered).toBe(1);
    expect(r.a.text.match(/"allow":(true|false)/g)).toEqual(['"allow":true', '"allow":false', '"allow":true']);
  });
});

describe('the h1 server\'s limits', () => {
  let t: TestApp;
  let h1: H1Server;
  beforeAll(async () => {
    t = await startApp(withServer('http_keep_alive_timeout_ms: 300, http_request_timeout_ms: 500'));
    h1 = http1Of(t.app.http.server)!;
  });
  afterAll(() => t?.close());

  it('a slowloris (a head trickled a byte at a time) gets 408 and is closed', async () => {
    const start = Date.now();
    const before = h1.handedOff;
    const r = await exchange(t.httpPort, bytes(kong(ALLOW)), { gapMs: 50 });
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(Date.now() - start).toBeLessThan(3000);
    expect(h1.handedOff).toBe(before);
  });

  it('a body trickled past the request timeout gets 408', async () => {
    const full = kong(ALLOW);
    const split = full.indexOf('\r\n\r\n') + 4;
    const r = await exchange(t.httpPort, [full.slice(0, split), ...bytes(full.slice(split))], { gapMs: 50 });
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a client that pipelines requests and never reads the answers is closed', async () => {
    const sock = connect(t.httpPort, '127.0.0.1');
    sock.on('error', () => {});
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    await new Promise<void>((r) => sock.on('connect', () => r()));
    sock.pause(); // never read
    const batch = kong(ALLOW).repeat(1000);
    // Enough answers (~15 MB) to fill the socket buffers both ways and the server's own budget.
    for (let i = 0; i < 30; i++) sock.write(batch);
    const start = Date.now();
    await closed;
    expect(Date.now() - start).toBeLessThan(8000);
  });

  it('an idle keep-alive connection is closed after http_keep_alive_timeout_ms', async () => {
    const before = h1.answered;
    const r = await exchange(t.httpPort, [kong(ALLOW)], { quietMs: 3000 });
    expect(h1.answered).toBe(before + 1);
    expect(r.closed).toBe(true);
    expect(r.text).toContain('Keep-Alive: timeout=0\r\n');
  });
});

describe('the h1 server while the listener closes', () => {
  it('an idle connection is closed; a request that completes after close began gets 503', async () => {
    const t = await startApp(CORE);
    const h1 = http1Of(t.app.http.server)!;
    const idle = await exchange(t.httpPort, [kong(ALLOW)], { quietMs: 100 });
    expect(idle.text).toMatch(/^HTTP\/1\.1 200 /);
    const sock = connect(t.httpPort, '127.0.0.1');
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.on('connect', () => r()));
    const req = kong(ALLOW);
    sock.write(kong(ALLOW) + req.slice(0, 40));
    await new Promise((r) => setTimeout(r, 100));
    expect(h1.connections.size).toBe(1);
    const closing = t.app.http.close();
    await new Promise((r) => setTimeout(r, 100));
    sock.write(req.slice(40));
    await closed;
    await closing;
    const text = Buffer.concat(chunks).toString();
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 503']);
    await t.close();
  });
});

describeWith('openssl', 'the h1 server on a TLS listener', () => {
  let h1App: TestApp;
  let nodeApp: TestApp;
  let h1: H1Server;
  let ca: string;
  beforeAll(async () => {
    const pki = new TestPki(tempDir('ascend-h1-tls-'));
    const cert = pki.server('server', 'sidecar');
    ca = pki.caPem;
    const tls = `tls: {cert_file: ${JSON.stringify(cert.cert)}, key_file: ${JSON.stringify(cert.key)}}`;
    h1App = await startApp(withServer(tls));
    nodeApp = await startApp(withServer(`${tls}, http_transport: node`));
    h1 = http1Of(h1App.app.http.server)!;
  });
  afterAll(async () => {
    await h1App?.close();
    await nodeApp?.close();
  });

  const CASES: Record<string, { parts: string[]; answered: number; handedOff: number }> = {
    'pipelined fast requests': { parts: [kong(ALLOW) + forwardAuth('/v1/orders/o-1') + kong(DENY)], answered: 3, handedOff: 0 },
    'a fast request, then a chunked one, then a fast one': { parts: [kong(ALLOW) + `POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(DENY)}` + kong(ALLOW)], answered: 1, handedOff: 1 },
    'CL.TE': { parts: [`POST /kong/v1/authorize HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`], answered: 0, handedOff: 1 },
  };
  for (const [name, c] of Object.entries(CASES)) {
    it(`answers as node:https does: ${name}`, async () => {
      const before = { answered: h1.answered, handedOff: h1.handedOff };
      const a = await exchange(h1App.httpPort, c.parts, { ca });
      const b = await exchange(nodeApp.httpPort, c.parts, { ca });
      expect(a.text).toEqual(b.text);
      expect(a.text).toMatch(/^HTTP\/1\.1 \d{3} /);
      expect(h1.answered - before.answered).toBe(c.answered);
      expect(h1.handedOff - before.handedOff).toBe(c.handedOff);
    });
  }
});
