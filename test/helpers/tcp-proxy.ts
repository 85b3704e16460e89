/**
 * A TCP proxy the test controls, between a sidecar and its PostgreSQL: `forward` passes bytes
 * both ways; `refuse` resets every connection, open or new (a server that is down); `blackhole`
 * accepts and holds connections but passes nothing, also on those already open (a server or
 * network that stopped answering: every call waits until its own timeout).
 */
import { createServer, connect, type Socket } from 'node:net';

export type ProxyMode = 'forward' | 'refuse' | 'blackhole';

export interface TcpProxy {
  readonly port: number;
  mode(m: ProxyMode): void;
  close(): Promise<void>;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'forward';
  const pairs = new Set<{ client: Socket; server: Socket }>();
  const server = createServer((client) => {
    client.on('error', () => undefined);
    if (mode === 'refuse') { client.resetAndDestroy(); return; }
    const upstream = connect(target.port, target.host);
    upstream.on('error', () => client.destroy());
    const pair = { client, server: upstream };
    pairs.add(pair);
    const forget = () => { pairs.delete(pair); client.destroy(); upstream.destroy(); };
    client.on('close', forget);
    upstream.on('close', forget);
    client.on('data', (b) => { if (mode === 'forward') upstream.write(b); });
    upstream.on('data', (b) => { if (mode === 'forward') client.write(b); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    mode(m) {
      mode = m;
      if (m === 'refuse') for (const p of [...pairs]) { p.client.resetAndDestroy(); p.server.destroy(); }
    },
    close: () => new Promise<void>((resolve) => {
      for (const p of pairs) { p.client.destroy(); p.server.destroy(); }
      server.close(() => resolve());
    }),
  };
}
