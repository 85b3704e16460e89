/**
 * Bounded per connection: each listener holds at most server.max_connections connections and
 * server.max_connections_per_peer from one address; a connection past either is closed as it
 * is accepted and counted in ascend_connections_rejected_total{listener,reason}, while the
 * connections already open keep working and the gRPC listener keeps answering Envoy; silent
 * gRPC connections are closed after server.http_request_timeout_ms, so they cannot hold the
 * cap. The caps of all listeners are fitted to the open-file limit.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, writeConfig, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { sample } from './helpers/http.js';
import { CLI } from './helpers/process.js';
import { getOver, holdAccepted, openSocket, type HeldSocket } from './helpers/sockets.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const withServer = (extra: string) => CORE.replace('server: {grpc_port: 9191, http_port: 8181}', `server: {grpc_port: 9191, http_port: 8181, ${extra}}`);
const ALLOWED_CHECK = { method: 'POST', path: '/v1/refunds/r-1?amount=50', headers: { 'x-agent-id': 'billing-agent' } };

async function checkAnswered(port: number): Promise<string | undefined> {
  const c = new AuthzClient(port, { ownConnection: true });
  try {
    return decisionOf(await c.check(ALLOWED_CHECK));
  } finally {
    c.close();
  }
}

async function rejected(over: HeldSocket, listener: string, reason: string): Promise<number | undefined> {
  return sample((await getOver(over, '/metrics')).body, 'ascend_connections_rejected_total', { listener, reason });
}

describe('HTTP listener: max_connections 12, max_connections_per_peer 5', () => {
  let t: TestApp;
  const held: HeldSocket[] = [];
  beforeAll(async () => {
    t = await startApp(withServer('max_connections: 12, max_connections_per_peer: 5'));
  });
  afterAll(async () => {
    for (const h of held) h.socket.destroy();
    await t.close();
  });

  it('a sixth connection from one address is closed at once; the five stay open', async () => {
    held.push(...(await holdAccepted(t.httpPort, 5, '127.0.0.1')));
    const sixth = await openSocket(t.httpPort, { localAddress: '127.0.0.1' });
    await sixth.closed;
    expect(held.every((h) => !h.isClosed())).toBe(true);
    expect(await rejected(held[0]!, 'http', 'max_connections_per_peer')).toBe(1);
  });

  it('other addresses fill the listener up to 12; the thirteenth connection is closed at once', async () => {
    held.push(...(await holdAccepted(t.httpPort, 5, '127.0.0.2')));
    held.push(...(await holdAccepted(t.httpPort, 2, '127.0.0.3')));
    const thirteenth = await openSocket(t.httpPort, { localAddress: '127.0.0.4' });
    await thirteenth.closed;
    expect(await rejected(held[0]!, 'http', 'max_connections')).toBe(1);
  });

  it('every connection held open still works', async () => {
    for (const h of held) expect((await getOver(h, '/readyz')).status).toBe(200);
  });

  it('the gRPC listener still answers a new check while the HTTP listener is full', async () => {
    expect(await checkAnswered(t.grpcPort)).toBe('allowed');
  });

  it('a closed connection frees its place', async () => {
    const last = held.pop()!;
    last.socket.destroy();
    await last.closed;
    // The server sees the close a moment later: retry until a new connection is kept.
    for (;;) {
      const again = await openSocket(t.httpPort, { localAddress: '127.0.0.3' });
      const answer = await getOver(again, '/healthz').catch(() => undefined);
      if (answer?.status === 200) {
        held.push(again);
        break;
      }
    }
  });
});

describe.each(['h2', 'native', 'grpc-js'])('gRPC listener (%s): the same caps', (transport) => {
  let t: TestApp;
  const held: HeldSocket[] = [];
  beforeAll(async () => {
    t = await startApp(withServer(`grpc_transport: ${transport}, max_connections: 7, max_connections_per_peer: 3, http_request_timeout_ms: 400`));
  });
  afterAll(async () => {
    for (const h of held) h.socket.destroy();
    await t.close();
  });

  it('past the per-peer and the listener cap, new connections are closed; the next check gets in once one closes', async () => {
    for (const address of ['127.0.0.2', '127.0.0.3']) {
      for (let i = 0; i < 3; i++) held.push(await openSocket(t.grpcPort, { localAddress: address }));
    }
    // Both addresses are at their cap (3); the listener holds 6 of 7.
    const perPeer = await openSocket(t.grpcPort, { localAddress: '127.0.0.2' });
    await perPeer.closed;
    held.push(await openSocket(t.grpcPort, { localAddress: '127.0.0.4' }));
    const full = await openSocket(t.grpcPort, { localAddress: '127.0.0.5' });
    await full.closed;
    const m = await (await fetch(t.url('/metrics'))).text();
    expect(sample(m, 'ascend_connections_rejected_total', { listener: 'grpc', reason: 'max_connections_per_peer' })).toBe(1);
    expect(sample(m, 'ascend_connections_rejected_total', { listener: 'grpc', reason: 'max_connections' })).toBe(1);
  });

  it('silent connections (no preface) are closed after http_request_timeout_ms, which frees the listener for Envoy', async () => {
    await Promise.all(held.map((h) => h.closed));
    expect(await checkAnswered(t.grpcPort)).toBe('allowed');
  });
});

describe('caps fitted to the open-file limit', () => {
  it('lowers the caps (one warning), HTTP first, and enforces the lowered HTTP cap while gRPC answers', async () => {
    // 256 descriptors reserved; 40 left: HTTP keeps a quarter (10), gRPC gets the other 30.
    const t = await startApp(CORE, { app: { openFileLimit: 296 } });
    const held: HeldSocket[] = [];
    try {
      const warnings = t.logs.filter((l) => /does not fit the open-file limit/.test(l.msg ?? ''));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40, open_file_limit: 296, reserved_fds: 256, lowered_to: { grpc: 30, http: 10 } });
      held.push(...(await holdAccepted(t.httpPort, 10, '127.0.0.1')));
      const extra = await openSocket(t.httpPort);
      await extra.closed;
      expect(await checkAnswered(t.grpcPort)).toBe('allowed');
    } finally {
      for (const h of held) h.socket.destroy();
      await t.close();
    }
  });

  it('with room for every cap, nothing is lowered and nothing is logged', async () => {
    const t = await startApp(CORE, { app: { openFileLimit: 1_048_576 } });
    try {
      expect(t.logs.filter((l) => /open-file limit/.test(l.msg ?? ''))).toEqual([]);
      expect(t.app.http.server.maxConnections).toBe(10_000);
    } finally {
      await t.close();
    }
  });

  it('reads the real limit: `serve` under prlimit --nofile=1024 warns at start', async () => {
    const { path } = writeConfig(CORE);
    const proc = spawn('prlimit', ['--nofile=1024:1024', process.execPath, CLI, 'serve', '--config', path, '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const warning = await new Promise<Record<string, unknown>>((resolve, reject) => {
        let buf = '';
        proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          buf += chunk;
          const line = buf.split('\n').find((l) => l.includes('open-file limit'));
          if (line) resolve(JSON.parse(line) as Record<string, unknown>);
        });
        proc.once('exit', (code) => reject(new Error(`serve exited (${code}) without the warning: ${buf}`)));
      });
      // 1024 − 256 = 768 available: HTTP keeps a quarter (192), gRPC 576.
      expect(warning).toMatchObject({ open_file_limit: 1024, lowered_to: { grpc: 576, http: 192 } });
    } finally {
      proc.kill('SIGTERM');
    }
  });
});
