/**
 * Fast-path parity kit (src/http/fast-routes.ts): two sidecars from one config, the second with
 * `server.http_fast_path: false`, asked the same request over real sockets. The fast one's own
 * count says whether its fast path answered, so a comparison cannot pass by both sides going
 * through fastify.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { fastRoutesOf } from '../../src/http/fast-routes.js';
import { startApp, type TestApp } from './app.js';
import { comparable, rawRequest } from './http.js';

export interface FastAndSlow {
  fast: TestApp;
  slow: TestApp;
}

/** The pair for the enclosing describe: started before its tests, closed after them. */
export function fastAndSlow(config: string): FastAndSlow {
  const pair = {} as FastAndSlow;
  beforeAll(async () => {
    pair.fast = await startApp(config);
    pair.slow = await startApp(config.replace(/^server: \{(.*)\}$/m, 'server: {$1, http_fast_path: false}'));
  });
  afterAll(async () => {
    await pair.fast?.close();
    await pair.slow?.close();
  });
  return pair;
}

/** Sends `req` to both; the fast path took it or not as `viaFast` says, and the two answers are the same. */
export async function expectSameAnswer({ fast, slow }: FastAndSlow, req: Parameters<typeof rawRequest>[1], viaFast: boolean): Promise<void> {
  const routes = fastRoutesOf(fast.app.http)!;
  const before = routes.served;
  const a = await rawRequest(fast.httpPort, req);
  const b = await rawRequest(slow.httpPort, req);
  expect(routes.served - before).toBe(viaFast ? 1 : 0);
  expect(comparable(a)).toEqual(comparable(b));
}
