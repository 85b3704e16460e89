import { describe, expect, it } from 'vitest';
import { ResponseParser } from './h1-response.js';

/** Feeds `text` split at every `step` bytes; returns the parser once complete (or not). */
function parse(text: string, step = text.length): { p: ResponseParser; complete: boolean } {
  const p = new ResponseParser();
  const b = Buffer.from(text, 'latin1');
  let complete = false;
  for (let i = 0; i < b.length; i += step) complete = p.feed(b.subarray(i, i + step));
  return { p, complete };
}

describe('ResponseParser', () => {
  const cl = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nCache-Control: private, max-age=5\r\nX-Ascend-Request-Facts: method\r\nKeep-Alive: timeout=5\r\ncontent-length: 17\r\n\r\n{"decision":"ok"}';

  it('reads a Content-Length body, in one piece and byte by byte', () => {
    for (const step of [cl.length, 1, 7]) {
      const { p, complete } = parse(cl, step);
      expect(complete).toBe(true);
      expect([p.status, p.text(), p.cacheControl, p.facts, p.reusable, p.keepAliveMs, p.extra]).toEqual([200, '{"decision":"ok"}', 'private, max-age=5', 'method', true, 5000, false]);
    }
  });

  it('reads a chunked body with extensions and trailers, split anywhere', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\n{"dec\r\nc\r\nision":"ok"}\r\n0\r\nx-trailer: 1\r\n\r\n';
    for (const step of [text.length, 1, 3]) {
      const { p, complete } = parse(text, step);
      expect([complete, p.text()]).toEqual([true, '{"decision":"ok"}']);
    }
  });

  it('skips 1xx interim answers; a body framed by the close ends with the connection', () => {
    const { p, complete } = parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 503 Busy\r\n\r\nlater');
    expect([complete, p.status, p.reusable]).toEqual([false, 503, false]);
    expect(p.end()).toBe(true);
    expect(p.text()).toBe('later');
  });

  it('Connection: close and HTTP/1.0 are not reused; bytes past the framed body are noticed', () => {
    expect(parse('HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n').p.reusable).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n').p.reusable).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\ncontent-length: 0\r\n\r\n').p.reusable).toBe(true);
    expect(parse('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1').p.extra).toBe(true);
  });

  it('refuses what is not HTTP/1.x or is framed ambiguously', () => {
    for (const bad of [
      'SSH-2.0-OpenSSH\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
    ]) expect(() => parse(bad), bad).toThrow();
    expect(() => parse(`HTTP/1.1 200 OK\r\ncontent-length: ${2 * 1024 * 1024}\r\n\r\n${'x'.repeat(1024 * 1024 + 10)}`)).toThrow(/1 MiB/);
  });
});
