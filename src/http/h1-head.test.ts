/**
 * The strict head parser: what it takes, what it leaves to node, and — the property the h1
 * server's safety rests on — that whatever it takes, node:http (llhttp) reads the same way:
 * heads built from a grammar and then mutated byte by byte with the characters smuggling
 * attempts are made of are given to both, and every head parseHead accepts must reach a real
 * node:http server as the same method, target, headers and body length.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StringIntern } from '../shared/string-intern.js';
import { HAND_OFF, MORE, parseHead, type Head } from './h1-head.js';

const LIMITS = { maxHeaderBytes: 16_384, maxHeaders: 200, methods: new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) };
const parse = (text: string) => {
  const buf = Buffer.from(text, 'latin1');
  return parseHead(buf, 0, buf.length, LIMITS);
};

describe('parseHead', () => {
  it('reads the strict subset: method, target, lower-case names, values without surrounding space, the body length', () => {
    const head = parse('POST /kong/v1/authorize?x=1 HTTP/1.1\r\nHost: sidecar\r\nContent-Type:application/json\r\nContent-Length: 12\r\nX-Empty:\r\n\r\n{"a":1}     ') as Head;
    expect(head).toMatchObject({ method: 'POST', url: '/kong/v1/authorize?x=1', count: 4, bodyLength: 12, close: false });
    expect(head.headers).toEqual({ host: 'sidecar', 'content-type': 'application/json', 'content-length': '12', 'x-empty': '' });
    expect(head.end).toBe('POST /kong/v1/authorize?x=1 HTTP/1.1\r\nHost: sidecar\r\nContent-Type:application/json\r\nContent-Length: 12\r\nX-Empty:\r\n\r\n'.length);
  });

  it('gives every name and value as sent while kept ones repeat and others change (any case, same lengths)', () => {
    for (let i = 0; i < 5000; i++) {
      const id = String(i * 7919).padStart(9, '0');
      const name = i % 2 === 0 ? 'X-Id' : 'x-ID';
      const head = parse(`GET / HTTP/1.1\r\nHost: same.example\r\n${name}: ${id}\r\nX-Case: ${i % 3 === 0 ? 'ABC' : 'abc'}\r\n\r\n`) as Head;
      expect(head.headers).toEqual({ host: 'same.example', 'x-id': id, 'x-case': i % 3 === 0 ? 'ABC' : 'abc' });
    }
  });

  it('Connection: close and keep-alive, in any case', () => {
    expect((parse('GET / HTTP/1.1\r\nHost: s\r\nConnection: Close\r\n\r\n') as Head).close).toBe(true);
    expect((parse('GET / HTTP/1.1\r\nHost: s\r\nConnection: keep-alive\r\n\r\n') as Head).close).toBe(false);
  });

  it('waits for the blank line', () => {
    expect(parse('GET / HTTP/1.1\r\nHost: s\r\n')).toBe(MORE);
    expect(parse('G')).toBe(MORE);
  });

  it.each([
    ['Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['two Content-Lengths', 'POST / HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n'],
    ['a Content-Length list', 'POST / HTTP/1.1\r\nHost: s\r\nContent-Length: 3, 3\r\n\r\n'],
    ['a signed Content-Length', 'POST / HTTP/1.1\r\nHost: s\r\nContent-Length: +3\r\n\r\n'],
    ['a header twice', 'GET / HTTP/1.1\r\nHost: s\r\nX-A: 1\r\nx-a: 2\r\n\r\n'],
    ['a kept header twice', 'GET / HTTP/1.1\r\nHost: s\r\nhost: s\r\n\r\n'],
    ['a kept header twice, apart', 'GET / HTTP/1.1\r\nContent-Length: 0\r\nHost: s\r\ncontent-length: 0\r\n\r\n'],
    ['__proto__', 'GET / HTTP/1.1\r\nHost: s\r\n__proto__: 1\r\n\r\n'],
    ['constructor', 'GET / HTTP/1.1\r\nHost: s\r\nconstructor: 1\r\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: s\r\nX-A: 1\r\n 2\r\n\r\n'],
    ['a bare LF', 'GET / HTTP/1.1\nHost: s\r\n\r\n'],
    ['a bare LF, head incomplete', 'GET / HTTP/1.1\nHost: s\n'],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nHost: s\rX: 1\r\n\r\n'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : s\r\n\r\n'],
    ['a space after the value', 'GET / HTTP/1.1\r\nHost: s \r\n\r\n'],
    ['obs-text in a value', 'GET / HTTP/1.1\r\nHost: s\r\nX: caf\xe9\r\n\r\n'],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nHost: s\r\nX: a\0b\r\n\r\n'],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: s\r\n\r\n'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['an absolute target', 'GET http://s/ HTTP/1.1\r\nHost: s\r\n\r\n'],
    ['an asterisk target', 'OPTIONS * HTTP/1.1\r\nHost: s\r\n\r\n'],
    ['two spaces after the method', 'GET  / HTTP/1.1\r\nHost: s\r\n\r\n'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: s\r\n\r\n'],
    ['a lower-case method', 'get / HTTP/1.1\r\nHost: s\r\n\r\n'],
    ['a method no route answers', 'PROPFIND / HTTP/1.1\r\nHost: s\r\n\r\n'],
    ['no Host', 'GET / HTTP/1.1\r\nX: 1\r\n\r\n'],
    ['Expect', 'POST / HTTP/1.1\r\nHost: s\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n'],
    ['Upgrade', 'GET / HTTP/1.1\r\nHost: s\r\nUpgrade: websocket\r\n\r\n'],
    ['Connection with another token', 'GET / HTTP/1.1\r\nHost: s\r\nConnection: keep-alive, upgrade\r\n\r\n'],
    ['a TLS ClientHello', '\x16\x03\x01\x00\xa5\x01\x00\x00'],
  ])('hands off %s', (_name, text) => {
    expect(parse(text)).toBe(HAND_OFF);
    // Again, its names and values now kept from the first time.
    expect(parse(text)).toBe(HAND_OFF);
  });

  it('refuses what follows a value equal to the one its name had before', () => {
    const ok = parse('GET / HTTP/1.1\r\nHost: s\r\nX-A: 1\r\n\r\n');
    expect(ok).toMatchObject({ headers: { host: 's', 'x-a': '1' } });
    for (const text of [
      'GET / HTTP/1.1\r\nHost: s \r\nX-A: 1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: s\nX-A: 1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: s\r\nX-A: 1\r\n 2\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: s\r\nX-A: 1\r\nx-a: 1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: s\r\nX-A: 1\x00\r\n\r\n',
    ]) expect(parse(text)).toBe(HAND_OFF);
    expect(parse('GET / HTTP/1.1\r\nHost: s\r\nX-A: 12\r\n\r\n')).toMatchObject({ headers: { host: 's', 'x-a': '12' } });
    expect(parse('GET / HTTP/1.1\r\nHost:s\r\nX-A:  1\r\n\r\n')).toMatchObject({ headers: { host: 's', 'x-a': '1' } });
  });

  it('reads each target as sent when it starts like, equals or extends the one before', () => {
    const target = (t: string) => (parse(`GET ${t} HTTP/1.1\r\nHost: s\r\n\r\n`) as { url: string }).url;
    for (const t of ['/a', '/a', '/ab', '/a', '/a?x=1', '/', '/a', `/${'l'.repeat(70)}`, `/${'l'.repeat(70)}`, '/a']) expect(target(t)).toBe(t);
    // The last target followed by anything but its space is read again, and refused as before.
    target('/a');
    expect(parse('GET /a\x01 HTTP/1.1\r\nHost: s\r\n\r\n')).toBe(HAND_OFF);
    expect(parse('GET /a HTTP/1.0\r\nHost: s\r\n\r\n')).toBe(HAND_OFF);
  });

  it("takes a repeated target and header values from the head before, without decoding them again", () => {
    // Every value the parser does not take from the head before is decoded by the intern table.
    const decode = vi.spyOn(StringIntern.prototype, 'decode');
    try {
      const head = (agent: string) => `POST /kong/v1/authorize HTTP/1.1\r\nHost: sidecar\r\nX-Agent-Id: ${agent}\r\nContent-Length: 2\r\n\r\n`;
      parse(head('billing-agent'));
      decode.mockClear();
      expect(parse(head('billing-agent'))).toMatchObject({ url: '/kong/v1/authorize', headers: { host: 'sidecar', 'x-agent-id': 'billing-agent', 'content-length': '2' } });
      expect(decode).not.toHaveBeenCalled();
      // One value changed: that one alone is decoded.
      expect(parse(head('crawler'))).toMatchObject({ headers: { 'x-agent-id': 'crawler' } });
      expect(decode.mock.results.map((r) => r.value)).toEqual(['crawler']);
    } finally {
      decode.mockRestore();
    }
  });

  it('hands off a head over the byte limit, complete or not', () => {
    const big = `GET / HTTP/1.1\r\nHost: s\r\nX: ${'a'.repeat(LIMITS.maxHeaderBytes)}`;
    expect(parse(big)).toBe(HAND_OFF);
    expect(parse(`${big}\r\n\r\n`)).toBe(HAND_OFF);
  });

  it('hands off more header lines than the limit', () => {
    const lines = Array.from({ length: LIMITS.maxHeaders }, (_, i) => `X-${i}: 1\r\n`).join('');
    expect(parse(`GET / HTTP/1.1\r\nHost: s\r\n${lines}\r\n`)).toBe(HAND_OFF);
  });

  it('finds the blank line across calls without scanning from the start again', () => {
    const text = Buffer.from('GET / HTTP/1.1\r\nHost: s\r\n\r\n', 'latin1');
    let scanned = 0;
    for (let n = 1; n < text.length; n++) {
      expect(parseHead(text, 0, n, LIMITS, scanned)).toBe(MORE);
      scanned = n;
    }
    expect(parseHead(text, 0, text.length, LIMITS, scanned)).toMatchObject({ method: 'GET', url: '/' });
  });
});

/** A small seeded generator: the same cases on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['Content-Length', 'Content-Type', 'Connection', 'X-Agent-Id', 'X-Original-URI', 'Authorization', 'Cookie', 'TE', 'X-Forwarded-For', 'Keep-Alive', 'Transfer-Encoding', 'Expect', 'Upgrade', 'Set-Cookie'];
const VALUES = ['s', '12', '0', 'chunked', 'close', 'keep-alive', 'application/json', 'crawler', '/v1/orders/1?a=b', 'Bearer x.y.z', 'a=1; b=2', 'identity', 'a, b', ''];
const NOISE = [' ', '\t', '\r', '\n', ':', '\0', '\x7f', '\x80', '\xff', ',', ';', '"', '\\', '/', '?', '#', '%', 'A', '0', '\x0b', '\x0c'];

function generated(rnd: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const lines = [`${pick(['GET', 'POST', 'HEAD', 'PUT'])} ${pick(['/', '/forward-auth', '/kong/v1/authorize?x=1', '/v1/data/a/b'])} HTTP/1.1`, 'Host: s'];
  const n = Math.floor(rnd() * 5);
  for (let i = 0; i < n; i++) lines.push(`${pick(NAMES)}:${pick(['', ' ', '  ', '\t'])}${pick(VALUES)}`);
  let text = `${lines.join('\r\n')}\r\n\r\n`;
  // A few byte-level mutations inside the head: insert, replace or delete.
  const m = Math.floor(rnd() * 3);
  for (let i = 0; i < m; i++) {
    const at = Math.floor(rnd() * (text.length - 4));
    const op = rnd();
    if (op < 0.4) text = text.slice(0, at) + pick(NOISE) + text.slice(at);
    else if (op < 0.8) text = text.slice(0, at) + pick(NOISE) + text.slice(at + 1);
    else text = text.slice(0, at) + text.slice(at + 1);
  }
  return text;
}

describe('parseHead against node:http', () => {
  let server: Server;
  let port: number;
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: number }> = [];
  beforeAll(async () => {
    server = createServer({ maxHeaderSize: LIMITS.maxHeaderBytes }, (req, res) => {
      let body = 0;
      req.on('data', (c: Buffer) => (body += c.length));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  /** What node made of `bytes` (one request at most), or undefined when it refused them. */
  function node(bytes: Buffer): Promise<(typeof seen)[number] | undefined> {
    seen.length = 0;
    return new Promise((resolve) => {
      const sock = connect(port, '127.0.0.1');
      let answer = '';
      sock.on('data', (c: Buffer) => {
        answer += c.toString('latin1');
        // The head is enough (a HEAD answer has no body): node has read the request by then.
        if (answer.includes('\r\n\r\n')) sock.destroy();
      });
      sock.on('error', () => {});
      sock.on('close', () => resolve(answer.startsWith('HTTP/1.1 200') ? seen[0] : undefined));
      sock.write(bytes);
      setTimeout(() => sock.destroy(), 1000);
    });
  }

  it('every generated head it accepts, node reads the same way', async () => {
    const rnd = random(20261207);
    let accepted = 0;
    let handedOff = 0;
    for (let i = 0; i < 3000; i++) {
      const text = generated(rnd);
      const buf = Buffer.from(text, 'latin1');
      const head = parseHead(buf, 0, buf.length, LIMITS);
      if (head === HAND_OFF || head === MORE) {
        handedOff++;
        continue;
      }
      accepted++;
      const bytes = Buffer.concat([buf.subarray(0, head.end), Buffer.alloc(head.bodyLength, 'x')]);
      const got = await node(bytes);
      expect(got, JSON.stringify(text)).toBeDefined();
      expect({ method: got!.method, url: got!.url, headers: { ...got!.headers }, body: got!.body }, JSON.stringify(text)).toEqual({
        method: head.method, url: head.url, headers: head.headers, body: head.bodyLength,
      });
    }
    // The generator makes both kinds, or the test proves nothing.
    expect(accepted).toBeGreaterThan(400);
    expect(handedOff).toBeGreaterThan(400);
  }, 120_000);
});
