/**
 * `server.gateway_http_port`: the gateway endpoints (Kong, Kong opa, forward-auth) on a
 * listener of their own, gone from the main HTTP port; the REST API, /healthz, /readyz and
 * /metrics stay on the main port; `gateway_access` guards the gateway listener too; and a
 * flood of the main port (its own connection cap) leaves the gateway listener answering.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeFromText } from '../src/config/runtime.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { startApp, writeConfig, type TestApp } from './helpers/app.js';
import { callGateway, expectedOutcome, GATEWAY_CALLS } from './helpers/gateway-calls.js';
import { rawRequest, sample } from './helpers/http.js';
import { spawnSidecar } from './helpers/process.js';
import { getOver, openSocket, type HeldSocket } from './helpers/sockets.js';
import { tempDir } from './helpers/tmp.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const withServer = (extra: string, base = CORE) => base.replace('server: {grpc_port: 9191, http_port: 8181}', `server: {grpc_port: 9191, http_port: 8181, ${extra}}`);

async function start(server: string, extra = ''): Promise<TestApp> {
  const dir = tempDir('ascend-gwlistener-');
  return startApp(storeConfig(dir, withServer(server), extra), { dir });
}

describe('gateway endpoints on their own listener', () => {
  let t: TestApp;
  const held: HeldSocket[] = [];
  beforeAll(async () => { t = await start('gateway_http_port: 0, max_connections: 4, max_connections_per_peer: 4'); });
  afterAll(async () => {
    for (const h of held) h.socket.destroy();
    await t.close();
  });

  it('binds a second port, on gateway_host (127.0.0.1 by default)', () => {
    expect(t.gatewayPort).toBeGreaterThan(0);
    expect(t.gatewayPort).not.toBe(t.httpPort);
    expect(t.app.gatewayHttp?.server.address()).toMatchObject({ address: '127.0.0.1' });
  });

  it.each(GATEWAY_CALLS.map((c) => [c.name, c] as const))('%s: answered on the gateway port, 404 and not evaluated on the main port', async (_name, c) => {
    const before = t.decisions().length;
    const main = await callGateway(t.httpPort, c);
    expect(main.status).toBe(404);
    expect(t.decisions().length).toBe(before);
    expect(c.outcome(await callGateway(t.gatewayPort!, c))).toBe(expectedOutcome(c));
  });

  it('the REST API, /healthz, /readyz and /metrics are on the main port only', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await rawRequest(t.httpPort, { path })).status, path).toBe(200);
      expect((await rawRequest(t.gatewayPort!, { path })).status, path).toBe(404);
    }
    expect((await call(t.url(''), 'GET', '/api/approvals?status=pending', KEYS.admin)).status).toBe(200);
    expect((await call(`http://127.0.0.1:${t.gatewayPort}`, 'GET', '/api/approvals?status=pending', KEYS.admin)).status).toBe(404);
  });

  it('a flood of the main port up to its cap leaves the gateway listener answering', async () => {
    // fetch's pool may hold some of the 4 already: open until the main port refuses one.
    for (;;) {
      const h = await openSocket(t.httpPort, { localAddress: '127.0.0.2' });
      if (!(await getOver(h, '/healthz').then(() => true, () => false))) break;
      held.push(h);
    }
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(4);
    const c = GATEWAY_CALLS[0]!;
    expect(c.outcome(await callGateway(t.gatewayPort!, c))).toBe(expectedOutcome(c));
    const m = (await getOver(held[0]!, '/metrics')).body;
    expect(sample(m, 'ascend_connections_rejected_total', { listener: 'http', reason: 'max_connections' })).toBe(1);
    expect(sample(m, 'ascend_connections_rejected_total', { listener: 'gateway_http', reason: 'max_connections' })).toBe(0);
  });
});

describe('gateway_access on the gateway listener', () => {
  it('refuses a peer outside allowed_peers there as well', async () => {
    const t = await start('gateway_http_port: 0', 'gateway_access: {allowed_peers: [10.0.0.0/8]}');
    try {
      for (const c of GATEWAY_CALLS) {
        const r = await callGateway(t.gatewayPort!, c);
        expect([r.status, JSON.parse(r.body).code], c.name).toEqual([403, 'peer_not_allowed']);
      }
      expect(t.decisions()).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('`serve` with server.gateway_http_port', () => {
  it('logs the gateway port it bound, and the Kong endpoint answers there', async () => {
    const { path } = writeConfig(withServer('gateway_http_port: 0'));
    const s = await spawnSidecar(path, ['--no-watch']);
    try {
      const line = await s.waitForLine((l) => l.msg === 'ascend-sidecar listening');
      expect(line.gateway_http_port).toBeGreaterThan(0);
      expect(line.gateway_http_port).not.toBe(s.httpPort);
      const c = GATEWAY_CALLS[0]!;
      expect(c.outcome(await callGateway(line.gateway_http_port as number, c))).toBe(expectedOutcome(c));
      expect((await callGateway(s.httpPort, c)).status).toBe(404);
    } finally {
      expect(await s.stop('SIGTERM')).toBe(0);
    }
  });
});

describe('server.gateway_http_port config', () => {
  it.each([
    ['gateway_http_port: 8181', /server\.gateway_http_port: must differ from http_port \(8181\)/],
    ['gateway_http_port: 9191', /server\.gateway_http_port: must differ from grpc_port \(9191\)/],
    ['gateway_http_port: 70000', /server\.gateway_http_port: must be <= 65535/],
  ])('%s is an error naming the field', (server, message) => {
    expect(() => runtimeFromText(withServer(server), 'config.yaml', 1)).toThrow(message);
  });

  it('unset: the gateway endpoints stay on the main port (no second listener)', async () => {
    const t = await startApp(CORE);
    try {
      expect(t.gatewayPort).toBeUndefined();
      expect(t.app.gatewayHttp).toBeUndefined();
      const c = GATEWAY_CALLS[0]!;
      expect((await callGateway(t.httpPort, c)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
