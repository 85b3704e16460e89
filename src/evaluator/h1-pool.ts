/**
 * The edge's connections to the control plane: HTTP/1.1 keep-alive over node:net or node:tls,
 * one request per connection at a time, for the one call an uncached remote evaluation makes
 * (POST {url}/api/v1/actions/submit). Purpose-built rather than undici's Pool because the miss
 * path is measured against the control plane's own latency: undici spends about twice the CPU of
 * a bare socket round trip per request (a Request object, header validation, a wasm parser, and
 * a setImmediate before each write on a reused socket), which showed as the larger part of the
 * edge's own cost in a --cpu-prof of the miss path (bench/micro/remote-miss.mjs).
 *
 * - Up to `connections` sockets; requests beyond wait in order, each under its own timer.
 * - An idle socket is closed after the server's `Keep-Alive: timeout` less a second (4 s when it
 *   names none), before the server would, so a request is not written into a closing socket.
 * - A timed-out request destroys its socket (its answer could still arrive, out of turn).
 * - Every exchange resolves — never rejects — with its outcome: ok (an HTTP answer, any
 *   status), timeout, or error (refused, reset, TLS failure, malformed answer).
 */
import net, { type Socket } from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import { ResponseParser } from './h1-response.js';

export interface Exchanged {
  readonly outcome: 'ok' | 'timeout' | 'error';
  readonly status: number;
  readonly text: string;
  readonly cacheControl: string | undefined;
  readonly facts: string | undefined;
}

const DEFAULT_IDLE_MS = 4000;
const MAX_IDLE_MS = 30_000;

class Exchange implements Exchanged {
  outcome: Exchanged['outcome'] = 'ok';
  status = 0;
  text = '';
  cacheControl: string | undefined;
  facts: string | undefined;
  done = false;
  conn: Conn | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly payload: string, private readonly resolve: (x: Exchanged) => void, timeoutMs: number) {
    this.timer = setTimeout(onTimeout, Math.max(1, timeoutMs), this);
  }

  finish(outcome: Exchanged['outcome'], p?: ResponseParser): void {
    if (this.done) return;
    this.done = true;
    this.outcome = outcome;
    if (p !== undefined) {
      this.status = p.status;
      this.text = p.text();
      this.cacheControl = p.cacheControl;
      this.facts = p.facts;
    }
    clearTimeout(this.timer);
    this.resolve(this);
  }
}

function onTimeout(x: Exchange): void {
  const conn = x.conn;
  x.finish('timeout');
  conn?.destroy();
}

class Conn {
  readonly socket: Socket;
  ready = false;
  dead = false;
  current: Exchange | undefined;
  private parser: ResponseParser | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleMs = DEFAULT_IDLE_MS;

  constructor(private readonly pool: H1Pool, url: URL, tlsOptions: ConnectionOptions | undefined) {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (url.protocol === 'https:') {
      const servername = tlsOptions?.servername ?? (net.isIP(host) === 0 ? host : undefined);
      this.socket = tls.connect({ ...tlsOptions, host, port, servername, ALPNProtocols: ['http/1.1'] }, () => this.onReady());
    } else {
      this.socket = net.connect({ host, port }, () => this.onReady());
    }
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => this.destroy());
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () => this.destroy());
  }

  private onReady(): void {
    this.ready = true;
    this.pool.onFree(this);
  }

  /** Writes the exchange's request on this idle, ready connection. */
  send(x: Exchange): void {
    clearTimeout(this.idleTimer);
    this.socket.ref();
    this.current = x;
    x.conn = this;
    this.parser = new ResponseParser();
    this.socket.write(x.payload);
  }

  private onData(chunk: Buffer): void {
    const x = this.current;
    const p = this.parser;
    if (x === undefined || p === undefined) return this.destroy(); // bytes nobody asked for
    let complete: boolean;
    try {
      complete = p.feed(chunk);
    } catch {
      x.finish('error');
      return this.destroy();
    }
    if (!complete) return;
    this.current = undefined;
    this.parser = undefined;
    x.finish('ok', p);
    if (!p.reusable || p.extra) return this.destroy();
    if (p.keepAliveMs !== undefined) this.idleMs = Math.min(MAX_IDLE_MS, Math.max(0, p.keepAliveMs - 1000));
    if (this.idleMs === 0) return this.destroy();
    this.pool.onFree(this);
  }

  private onEnd(): void {
    // An answer framed by the end of the connection is complete now.
    const x = this.current;
    const p = this.parser;
    if (x !== undefined && p !== undefined && p.end()) {
      this.current = undefined;
      x.finish('ok', p);
    }
    this.destroy();
  }

  /** Idle in the pool: unref'd (an idle connection does not keep the process alive), closed after idleMs. */
  idle(): void {
    this.socket.unref();
    this.idleTimer = setTimeout(() => this.destroy(), this.idleMs);
    this.idleTimer.unref();
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.idleTimer);
    this.current?.finish('error');
    this.current = undefined;
    this.socket.destroy();
    this.pool.onDead(this);
  }
}

export class H1Pool {
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();
  private readonly queue: Exchange[] = [];
  private closed = false;

  constructor(private readonly url: URL, private readonly opts: { connections: number; tls?: ConnectionOptions | undefined }) {}

  /** Sends `payload` (a whole HTTP/1.1 request) and resolves with the answer, within `timeoutMs`. */
  request(payload: string, timeoutMs: number): Promise<Exchanged> {
    return new Promise((resolve) => {
      const x = new Exchange(payload, resolve, timeoutMs);
      if (this.closed) return x.finish('error');
      let conn = this.idle.pop();
      while (conn !== undefined && conn.dead) conn = this.idle.pop();
      if (conn !== undefined) return conn.send(x);
      this.queue.push(x);
      if (this.all.size < this.opts.connections) this.all.add(new Conn(this, this.url, this.opts.tls));
    });
  }

  /** A connection is ready for a request: the next one waiting, else idle. */
  onFree(conn: Conn): void {
    if (this.closed) return conn.destroy();
    let x = this.queue.shift();
    while (x !== undefined && x.done) x = this.queue.shift();
    if (x !== undefined) return conn.send(x);
    this.idle.push(conn);
    conn.idle();
  }

  /** A connection is gone; requests still waiting get a new one if none is connecting. */
  onDead(conn: Conn): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    while (this.queue.length > 0 && (this.queue[0] as Exchange).done) this.queue.shift();
    if (this.closed || this.queue.length === 0) return;
    const connecting = [...this.all].filter((c) => !c.ready).length;
    if (!conn.ready) {
      // It never connected (refused, TLS failed): the first waiting request fails with it, so a
      // control plane that is down fails each request once instead of retrying in a loop.
      (this.queue.shift() as Exchange).finish('error');
    }
    if (this.queue.length > 0 && connecting === 0 && this.all.size < this.opts.connections) this.all.add(new Conn(this, this.url, this.opts.tls));
  }

  /** No new requests; idle connections close now, busy ones after their answer. */
  async close(): Promise<void> {
    this.closed = true;
    for (const x of this.queue.splice(0)) x.finish('error');
    for (const c of this.idle.splice(0)) c.destroy();
    for (const c of this.all) if (c.current === undefined) c.destroy();
  }
}
