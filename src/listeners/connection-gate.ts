/**
 * Bounds what one listener holds open: at most `maxConnections` connections in all and at
 * most `maxPerPeer` from one peer address. A connection past either is closed as it is
 * accepted, and counted; the connections already open are not touched. Every socket is a
 * file descriptor, so without a bound a flood of idle connections on one listener uses up the
 * process's descriptors and the others (the gRPC listener Envoy depends on) can then accept
 * nothing (listener-plan.ts keeps the caps of all listeners within the open-file limit).
 *
 * The total is Node's own `server.maxConnections`: past it Node closes the accepted handle
 * before a Socket exists and emits 'drop'. The per-peer count wraps the server's 'connection'
 * listeners (the HTTP, HTTP/2 or gRPC machinery that takes a new socket), so a refused socket
 * is destroyed without ever reaching them.
 *
 * A cap makes silent connections a way to lock everyone else out, so they must not live long
 * either. Node's HTTP/1 server closes them (headersTimeout counts from accept) and the h2
 * transport has its preface timer, but node:http2 and grpc-js wait forever for a preface:
 * `firstByteTimeoutMs` closes a connection that has sent nothing by then.
 */
import type { Server, Socket } from 'node:net';

export type ListenerName = 'http' | 'gateway_http' | 'grpc';
export type ConnectionRejection = 'max_connections' | 'max_connections_per_peer';

export interface ConnectionLimits {
  maxConnections: number;
  maxPerPeer: number;
  /** Called once per connection closed at accept. */
  onReject?: (reason: ConnectionRejection) => void;
  /** Close a connection that has sent no byte this long after it was accepted. */
  firstByteTimeoutMs?: number;
}

/** One timer per connection, not per request; the protocol's own timeouts take over from its first byte. */
function closeIfSilent(socket: Socket, ms: number): void {
  const timer = setTimeout(() => {
    if (socket.bytesRead === 0) socket.destroy();
  }, ms);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

type ConnectionListener = (this: Server, socket: Socket) => void;

/** Applies `limits` to `server`; call it after the server's own 'connection' listeners are attached. */
export function limitConnections(server: Server, limits: ConnectionLimits): void {
  const reject = limits.onReject;
  server.maxConnections = limits.maxConnections;
  if (reject) server.on('drop', () => reject('max_connections'));

  const perPeer = new Map<string, number>();
  const release = (peer: string): void => {
    const left = (perPeer.get(peer) as number) - 1;
    if (left === 0) perPeer.delete(peer);
    else perPeer.set(peer, left);
  };
  const inner = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  server.on('connection', function (this: Server, socket: Socket) {
    const peer = socket.remoteAddress;
    // Gone before it was accepted (reset at once): nothing to serve.
    if (peer === undefined) {
      socket.destroy();
      return;
    }
    const open = perPeer.get(peer);
    if (open !== undefined && open >= limits.maxPerPeer) {
      socket.destroy();
      reject?.('max_connections_per_peer');
      return;
    }
    perPeer.set(peer, open === undefined ? 1 : open + 1);
    socket.once('close', () => release(peer));
    if (limits.firstByteTimeoutMs !== undefined) closeIfSilent(socket, limits.firstByteTimeoutMs);
    for (const listener of inner) listener.call(this, socket);
  });
}
