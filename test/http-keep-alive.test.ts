/**
 * Idle HTTP connections do not live long: one with no request in flight is closed after
 * server.http_keep_alive_timeout_ms (15 s by default, as SECURITY.md says; it was 65 s), and
 * one that never sends a request after server.http_request_timeout_ms.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { getOver, openSocket } from './helpers/sockets.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const withServer = (extra: string) => CORE.replace('server: {grpc_port: 9191, http_port: 8181}', `server: {grpc_port: 9191, http_port: 8181, ${extra}}`);

describe('idle HTTP connections', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(withServer('http_keep_alive_timeout_ms: 300, http_request_timeout_ms: 400'));
  });
  afterAll(() => t.close());

  it('a keep-alive connection idle past http_keep_alive_timeout_ms is closed by the server', async () => {
    const h = await openSocket(t.httpPort);
    expect((await getOver(h, '/healthz')).status).toBe(200);
    expect((await getOver(h, '/readyz')).status).toBe(200);
    await h.closed;
  });

  it('a connection that never sends a request is closed after http_request_timeout_ms', async () => {
    const h = await openSocket(t.httpPort);
    await h.closed;
  });
});

it('the default keep-alive timeout is 15 s (SECURITY.md)', async () => {
  const t = await startApp(CORE);
  try {
    expect(t.app.state.runtime.config.server.http_keep_alive_timeout_ms).toBe(15_000);
    expect(t.app.http.server.keepAliveTimeout).toBe(15_000);
  } finally {
    await t.close();
  }
});
