import { describe, expect, it } from 'vitest';
import { FastRoutes, ReplyBase, type FastRoute, type ProblemError } from './fast-routes.js';
import type { RuntimeState } from '../pipeline/state.js';

/** Writes as node:http and h1 do: a header value with a control character throws. */
class StrictReply extends ReplyBase {
  written: { status: number; headers: Record<string, string>; body: string | undefined } | undefined;
  protected write(status: number, headers: Record<string, string>, body: string | undefined): void {
    for (const k in headers) if (/[\r\n\0]/.test(headers[k]!)) throw Object.assign(new TypeError(`Invalid character in header content ["${k}"]`), { code: 'ERR_INVALID_CHAR' });
    this.written = { status, headers: { ...headers }, body };
  }
}

const request = () => ({ method: 'GET', url: '/x', headers: {}, socket: undefined as never, body: undefined as unknown });

describe('FastRoutes.dispatch', () => {
  const routes = new FastRoutes({} as RuntimeState, 100);

  it("a handler's throw gets the route's own error answer", () => {
    const reply = new StrictReply('GET');
    const route: FastRoute = {
      methods: ['GET'], path: '/x', body: 'none', bodyLimit: 0,
      handle: () => { throw new Error('boom'); },
      fail: (err: ProblemError, _req, r) => void r.code(err.statusCode ?? 500).send({ reason: err.message }),
    };
    routes.dispatch(route, request(), reply, undefined);
    expect(reply.written).toMatchObject({ status: 500, body: '{"reason":"boom"}' });
  });

  it('an error answer that cannot be written either becomes a plain 500 that closes, not an exception', () => {
    const reply = new StrictReply('GET');
    const route: FastRoute = {
      methods: ['GET'], path: '/x', body: 'none', bodyLimit: 0,
      // The header stays on the reply, so the route's error answer throws again.
      handle: (_req, r) => void r.header('x-ascend-reason', 'a\r\nset-cookie: x').send(''),
      fail: (err: ProblemError, _req, r) => void r.code(500).send({ reason: err.message }),
    };
    expect(() => routes.dispatch(route, request(), reply, undefined)).not.toThrow();
    expect(reply.written?.status).toBe(500);
    expect(reply.written?.headers).toMatchObject({ connection: 'close', 'content-type': 'application/json; charset=utf-8' });
    expect(reply.written?.headers['x-ascend-reason']).toBeUndefined();
    expect(JSON.parse(reply.written!.body!)).toMatchObject({ decision: 'denied', code: 'internal_error' });
  });
});

describe('ReplyBase.send', () => {
  it("takes a string's UTF-8 length from the caller when given, and counts it otherwise", () => {
    const given = new StrictReply('GET');
    given.send('{"a":1}', 7);
    expect(given.written?.headers['content-length']).toBe('7');
    for (const [payload, bytes, length] of [['{"é":1}', undefined, '8'], [{ 'é': 1 }, 3, '8']] as const) {
      const counted = new StrictReply('GET');
      counted.send(payload, bytes);
      expect(counted.written?.headers['content-length']).toBe(length);
    }
  });
});
