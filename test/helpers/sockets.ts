/**
 * Raw TCP connections held open on purpose (connection caps, idle timeouts): open one from a
 * chosen local address, send HTTP/1.1 keep-alive requests over it one at a time, and learn
 * when the server closed it.
 */
import { connect, type Socket } from 'node:net';

export interface HeldSocket {
  readonly socket: Socket;
  /** Resolves when the socket closed (either side). */
  readonly closed: Promise<void>;
  /** Whether it has closed yet. */
  isClosed(): boolean;
}

export function openSocket(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<HeldSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
    let done = false;
    const closed = new Promise<void>((res) => socket.once('close', () => { done = true; res(); }));
    // A reset from the server (a refused connection) is a close, not a test failure.
    socket.on('error', () => {});
    // Flowing, so the server's end is seen even after bytes nobody asked for (HTTP/2 SETTINGS).
    socket.resume();
    socket.once('connect', () => resolve({ socket, closed, isClosed: () => done }));
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
}

/** One GET over a held keep-alive connection: the status and body (Content-Length framing). */
export function getOver(held: HeldSocket, path: string): Promise<{ status: number; body: string }> {
  const { socket } = held;
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ status: Number(head.slice(9, 12)), body: buf.subarray(end + 4, end + 4 + length).toString('utf8') });
    };
    const onClose = (): void => reject(new Error(`connection closed before the answer to GET ${path}`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(`GET ${path} HTTP/1.1\r\nhost: sidecar\r\n\r\n`);
  });
}

/** Opens `count` connections from `localAddress`, one at a time, each proven accepted by a request answered over it. */
export async function holdAccepted(port: number, count: number, localAddress: string): Promise<HeldSocket[]> {
  const held: HeldSocket[] = [];
  for (let i = 0; i < count; i++) {
    const h = await openSocket(port, { localAddress });
    await getOver(h, '/healthz'); // any answer: the server took the connection
    held.push(h);
  }
  return held;
}
