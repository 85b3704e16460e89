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
 * - A request written on a reused connection (one that carried a request before, or waited idle
 *   in the pool: not one opened for it) that then closes before a single byte of the answer
 *   (the server's idle close racing our write: its FIN or RST arrives after we picked the
 *   socket) is sent once more, on a new connection, under the same timer. Never a second time,
 *   never after a byte of the answer, never for a new connection's failure: those are the
 *   control plane's. Why resending a submit is safe: docs/control-plane.md, "One resend after
 *   an idle close".
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
  /** Sent again already (at most once). */
  retried = false;
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
  /** Opened to send a request again (not for the queue). */
  readonly resending: boolean;
  /** Carried a request, or waited idle in the pool: the server may have closed it for idleness. */
  private used = false;
  /** The current request is on a connection that was already `used` when it was written. */
  private reused = false;
  /** Some byte of the current request's answer arrived. */
  private answered = false;
  private parser: ResponseParser | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleMs = DEFAULT_IDLE_MS;

  /** `first`: the request resent on this new connection, before any other. */
  constructor(private readonly pool: H1Pool, url: URL, tlsOptions: ConnectionOptions | undefined, private first?: Exchange) {
    this.resending = first !== undefined;
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

  /** Carrying a request, or connecting to send one again. */
  get busy(): boolean {
    return this.current !== undefined || this.first !== undefined;
  }

  private onReady(): void {
    this.ready = true;
    const x = this.first;
    this.first = undefined;
    if (x !== undefined && !x.done) return this.send(x);
    this.pool.onFree(this);
  }

  /** Writes the exchange's request on this idle, ready connection. */
  send(x: Exchange): void {
    clearTimeout(this.idleTimer);
    this.socket.ref();
    this.current = x;
    x.conn = this;
    this.reused = this.used;
    this.used = true;
    this.answered = false;
    this.parser = new ResponseParser();
    this.socket.write(x.payload);
  }

  private onData(chunk: Buffer): void {
    const x = this.current;
    const p = this.parser;
    if (x === undefined || p === undefined) return this.destroy(); // bytes nobody asked for
    this.answered = true;
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
    this.used = true;
    this.socket.unref();
    this.idleTimer = setTimeout(() => this.destroy(), this.idleMs);
    this.idleTimer.unref();
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.idleTimer);
    const x = this.current;
    this.current = undefined;
    // Closed under a request before any byte of its answer, on a connection that had carried
    // one before or waited idle: most likely the server's idle close, which never read it.
    // Sent again, once.
    const resend = x !== undefined && !x.done && !x.retried && this.reused && !this.answered ? x : undefined;
    if (resend === undefined) x?.finish('error');
    this.first?.finish('error'); // opened for a resent request, and never connected
    this.first = undefined;
    this.socket.destroy();
    this.pool.onDead(this, resend);
  }
}

export interface H1PoolOptions {
  readonly connections: number;
  readonly tls?: ConnectionOptions | undefined;
  /** A request is sent again on a new connection (the reused one closed before any byte of the answer). */
  readonly onResend?: (() => void) | undefined;
}

export class H1Pool {
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();
  private readonly queue: Exchange[] = [];
  private closed = false;

  constructor(private readonly url: URL, private readonly opts: H1PoolOptions) {}

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

  /**
   * A connection is gone: `resend` goes again on a new connection of its own (in the slot the
   * dead one leaves); requests still waiting get a new one if none is connecting.
   */
  onDead(conn: Conn, resend?: Exchange): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    if (resend !== undefined) {
      if (this.closed) resend.finish('error');
      else {
        resend.retried = true;
        this.opts.onResend?.();
        this.all.add(new Conn(this, this.url, this.opts.tls, resend));
      }
    }
    while (this.queue.length > 0 && (this.queue[0] as Exchange).done) this.queue.shift();
    if (this.closed || this.queue.length === 0) return;
    const connecting = [...this.all].filter((c) => !c.ready).length;
    if (!conn.ready && !conn.resending) {
      // It never connected (refused, TLS failed): the first waiting request fails with it, so a
      // control plane that is down fails each request once instead of retrying in a loop. (One
      // opened to send a request again failed that request.)
      (this.queue.shift() as Exchange).finish('error');
    }
    if (this.queue.length > 0 && connecting === 0 && this.all.size < this.opts.connections) this.all.add(new Conn(this, this.url, this.opts.tls));
  }

  /** No new requests; idle connections close now, busy ones after their answer. */
  async close(): Promise<void> {
    this.closed = true;
    for (const x of this.queue.splice(0)) x.finish('error');
    for (const c of this.idle.splice(0)) c.destroy();
    for (const c of this.all) if (!c.busy) c.destroy();
  }
}
