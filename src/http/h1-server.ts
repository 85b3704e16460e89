/**
 * The gateway endpoints' own HTTP/1.1 server (`server.http_transport: h1`, the default): it
 * takes each connection of the node:http (or node:https) listener first, reads request heads and
 * Content-Length bodies itself (h1-head.ts: a strict subset) and answers the fast routes
 * (fast-routes.ts) with one socket write of a built header block per batch of requests, in
 * order, keep-alive and pipelined. What it saves over node:http is the llhttp callbacks into
 * JS, the IncomingMessage and ServerResponse streams and their header objects, per request.
 *
 * Whatever it does not take — another path, a head outside the strict subset (anything that
 * could be read two ways: Transfer-Encoding, two Content-Lengths, obs-fold, bare LF, ...), a
 * body the route does not take here, a caller gateway_access refuses, a closing listener —
 * is node:http's from that byte on: once its own answers are written, the connection, with
 * the bytes read and not yet used, goes to node's connection listener, which parses and
 * answers it (through fastify) as if it had had it from the start. On a TLS listener it takes
 * each connection after its handshake, as node:https's HTTP machinery would.
 *
 * The listener's limits hold as on node:http: the whole request within requestTimeoutMs of its
 * first byte (of the accept, for the first) or a 408 from fastify's clientError handler; an
 * idle connection closed after keepAliveTimeoutMs; heads over maxHeaderBytes or maxHeaders are
 * node's (431); connection caps are the gate's (connection-gate.ts), which wraps this listener.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { HAND_OFF, MORE, parseHead, type Head, type HeadLimits } from './h1-head.js';
import { ReplyBase, type FastRoute, type FastRoutes } from './fast-routes.js';

export interface H1Limits {
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
  maxHeaders: number;
}

type ConnectionListener = (this: Server, socket: Socket) => void;

/** Unanswered requests one connection may have before it is read no further (pipelining). */
const MAX_IN_FLIGHT = 32;
/** Unsent answer bytes at which a connection is read no further until they drain. */
const MAX_UNSENT = 256 * 1024;
/** The largest read buffer a connection keeps between requests. */
const KEPT_BUFFER = 16 * 1024;
/** Values node:http would refuse to write (ERR_INVALID_CHAR): never put on the wire. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const NOT_ASCII = /[^\t\x20-\x7e]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A header name's last line on the wire, `name: value\r\n`, and whether its value is ASCII. */
interface Line {
  value: string;
  line: string;
  ascii: boolean;
}

/**
 * The last line built per header name, for names found to be tokens. The adapters set the same
 * few names on every answer, most with the value of the answer before (`content-type`,
 * `x-ascend-decision`, ...): such a header is then neither checked by a regular expression nor
 * built again. Bounded, so no route's dynamic names could grow it without end (names past the
 * bound are checked and built each time).
 */
const LINES = new Map<string, Line>();
const MAX_LINES = 256;

/** The header's line; throws as node:http would for a name or value it refuses (response splitting). */
function headerLine(name: string, value: string): Line {
  let kept = LINES.get(name);
  if (kept === undefined) {
    if (!TOKEN.test(name)) throw Object.assign(new TypeError(`Header name must be a valid HTTP token ["${name}"]`), { code: 'ERR_INVALID_HTTP_TOKEN' });
    kept = { value: '', line: '', ascii: true };
    if (LINES.size < MAX_LINES) LINES.set(name, kept);
  }
  if (kept.value === value && kept.line !== '') return kept;
  const ascii = !NOT_ASCII.test(value);
  if (!ascii && INVALID_VALUE.test(value)) throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
  kept.value = value;
  kept.line = `${name}: ${value}\r\n`;
  kept.ascii = ascii;
  return kept;
}

/** `HTTP/1.1 200 OK\r\n` by status, each built once. */
const STATUS_LINES: string[] = [];

function statusLine(status: number): string {
  if (!(Number.isInteger(status) && status >= 100 && status <= 999)) return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
  return (STATUS_LINES[status] ??= `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`);
}

/** The part of the answer head that changes once a second: Date and the connection headers. */
class HeadTail {
  private second = 0;
  private keep = '';
  private last = '';
  private date = '';

  constructor(private readonly keepAlive: string) {}

  /** `own`: the answer has its own Connection header (node then adds neither Connection nor Keep-Alive). */
  get(now: number, close: boolean, own = false): string {
    const s = now - (now % 1000);
    if (s !== this.second) {
      this.second = s;
      const date = `Date: ${new Date(s).toUTCString()}\r\n`;
      this.keep = `${date}Connection: keep-alive\r\n${this.keepAlive}\r\n\r\n`;
      this.last = `${date}Connection: close\r\n\r\n`;
      this.date = `${date}\r\n`;
    }
    return own ? this.date : close ? this.last : this.keep;
  }
}

/** One request's answer: its place in the connection's order, and its bytes once written. */
class H1Reply extends ReplyBase {
  next: H1Reply | undefined = undefined;
  data: string | Buffer | undefined = undefined;
  /** `data` is a string of ASCII only: written as latin1, a copy, where UTF-8 would encode it. */
  ascii = false;

  constructor(private readonly conn: H1Connection, method: string, public close: boolean) {
    super(method);
  }

  protected write(status: number, headers: Record<string, string>, body: string | undefined, bodyBytes: number): void {
    if (this.data !== undefined) return;
    let head = statusLine(status);
    let ascii = true;
    let own = false;
    for (const name in headers) {
      const value = headers[name]!;
      // The route's own `connection: close` (fastify's, after a body it could not parse): this answer is the last.
      if (name === 'connection') {
        own = true;
        if (value.toLowerCase() === 'close') this.close = true;
      }
      const line = headerLine(name, value);
      if (!line.ascii) ascii = false;
      head += line.line;
    }
    // A closing listener: the last answer h1 owes on the connection says so.
    if (this.conn.lastOwed(this)) this.close = true;
    head += this.conn.tail(this.close, own);
    const withBody = body !== undefined && this.method !== 'HEAD' && status !== 204 && status !== 304;
    // Node writes the head as latin1 and the body as UTF-8: one string when the head is ASCII.
    if (ascii) {
      this.data = withBody ? head + body : head;
      this.ascii = !withBody || bodyBytes === body.length;
    } else this.data = withBody ? Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'utf8')]) : Buffer.from(head, 'latin1');
    this.conn.answered(this);
  }
}

/** The server: the listener's connections while they are its own, their clock and limits. */
export class H1Server {
  readonly connections = new Set<H1Connection>();
  /** Requests answered here, and connections handed to node:http (tests read them). */
  answered = 0;
  handedOff = 0;
  readonly limits: HeadLimits;
  readonly tail: HeadTail;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly server: Server, readonly routes: FastRoutes, readonly opts: H1Limits, private readonly node: ConnectionListener) {
    this.limits = { maxHeaderBytes: opts.maxHeaderBytes, maxHeaders: opts.maxHeaders, methods: routes.methods };
    this.tail = new HeadTail(`Keep-Alive: timeout=${Math.floor(opts.keepAliveTimeoutMs / 1000)}`);
    this.timer = setInterval(() => this.expire(Date.now()), Math.min(1000, opts.requestTimeoutMs, opts.keepAliveTimeoutMs));
    this.timer.unref();
    server.once('close', () => clearInterval(this.timer));
    routes.whenClosing(() => {
      for (const c of this.connections) c.drain();
    });
  }

  accept(socket: Socket): void {
    // A listener that is closing takes no connection of its own: node's answers 503.
    if (this.routes.isClosing) this.node.call(this.server, socket);
    else this.connections.add(new H1Connection(socket, this));
  }

  /** Node's connection listener takes `socket` from here on, `rest` first. */
  handOff(socket: Socket, rest: Buffer | undefined): void {
    this.handedOff++;
    socket.pause();
    if (rest !== undefined && rest.length > 0) socket.unshift(rest);
    this.node.call(this.server, socket);
    socket.resume();
  }

  /** A request that took too long, and connections idle too long. */
  private expire(now: number): void {
    for (const c of this.connections) c.expire(now);
  }
}

const enum State {
  /** Reading a head (or waiting for one). */
  Head,
  /** Reading the body of `head`. */
  Body,
  /** Answered a request with `Connection: close`, or handing off: reads nothing more. */
  Done,
}

/** One connection while this server has it. */
class H1Connection {
  /** Bytes read and not used yet (a partial request), `buf[0..len]`; undefined: none. */
  private buf: Buffer | undefined = undefined;
  private len = 0;
  /** Where the search for the blank line resumes in `buf`. */
  private scanned = 0;
  private state = State.Head;
  private head: Head | undefined = undefined;
  private route: FastRoute | undefined = undefined;
  /** Where the body of `head` starts, from the request's first byte. */
  private bodyAt = 0;
  /** When the request being read began (the accept, for the first); 0: none being read. */
  private started: number;
  /** When the connection became idle (nothing being read or answered); 0: not idle. */
  private idleSince = 0;
  /** Answers not yet written, oldest first. */
  private first: H1Reply | undefined = undefined;
  private last: H1Reply | undefined = undefined;
  private inFlight = 0;
  /**
   * While a batch of input is parsed (0 otherwise): the clock read when it began (Date.now()).
   * Its answers collect in `out`, written once at the end, and they, their Date line and the
   * idle mark after it take this one read rather than a clock read each (~50 ns apiece here).
   */
  private batchAt = 0;
  private out = '';
  /** `out` is ASCII only (written as latin1). */
  private outAscii = true;
  /** Reading stopped: too many answers in flight or unsent. */
  private paused = false;
  /** The listener is closing: answers say `Connection: close`, and the connection ends after them. */
  closing = false;
  private ended = false;
  /** Goes to node once its answers are written: the bytes from this request on. */
  private handingOff = false;
  /** The peer's address, read once (RequestLike.peer). */
  private readonly peer: string | undefined;

  private readonly onData = (chunk: Buffer): void => this.read(chunk);
  private readonly onDrain = (): void => this.resume();
  private readonly onEnd = (): void => {
    this.ended = true;
    this.settle();
  };
  private readonly onClose = (): void => {
    this.server.connections.delete(this);
  };

  constructor(private readonly socket: Socket, private readonly server: H1Server) {
    this.started = Date.now();
    this.peer = socket.remoteAddress;
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('end', this.onEnd);
    socket.on('error', ignore);
    socket.on('close', this.onClose);
  }

  /**
   * Whether `reply` is the last answer this server owes while the listener closes: none follows
   * it in order, and no request after it goes to node (which answers that one, 503).
   */
  lastOwed(reply: H1Reply): boolean {
    return this.closing && reply.next === undefined && !this.handingOff;
  }

  tail(close: boolean, own = false): string {
    return this.server.tail.get(this.batchAt !== 0 ? this.batchAt : Date.now(), close, own);
  }

  private read(chunk: Buffer): void {
    if (this.state === State.Done) {
      // Handing off: node gets these too. Else the request said `Connection: close`: nothing follows.
      if (this.handingOff) this.append(chunk);
      return;
    }
    this.idleSince = 0;
    let buf: Buffer;
    if (this.len === 0) {
      buf = chunk;
      this.len = chunk.length;
    } else {
      buf = this.append(chunk);
    }
    this.settle(this.batch(buf));
  }

  /** Parses and answers what `buf` holds as one batch (one clock read, one write); returns its clock. */
  private batch(buf: Buffer): number {
    const now = Date.now();
    this.batchAt = now;
    const used = this.parse(buf);
    this.batchAt = 0;
    this.keep(buf, used);
    this.flushOut();
    return now;
  }

  /** Appends to the owned buffer, growing it by doubling (a trickled head is copied O(n), not O(n²)). */
  private append(chunk: Buffer): Buffer {
    const need = this.len + chunk.length;
    if (this.buf === undefined || this.buf.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * (this.buf?.length ?? 0), 1024));
      this.buf?.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    chunk.copy(this.buf, this.len);
    this.len = need;
    return this.buf;
  }

  /** Keeps `buf[used..len]` for the next read, at the front of the owned buffer. */
  private keep(buf: Buffer, used: number): void {
    const rest = this.len - used;
    this.scanned = Math.max(0, this.scanned - used);
    if (rest === 0) {
      this.len = 0;
      // A large body's buffer is not kept for the connection's life (10,000 idle connections × 1 MiB).
      if (this.buf !== undefined && this.buf.length > KEPT_BUFFER) this.buf = undefined;
      return;
    }
    if (buf === this.buf) {
      if (used > 0) buf.copy(buf, 0, used, this.len);
    } else {
      if (this.buf === undefined || this.buf.length < rest) this.buf = Buffer.allocUnsafe(Math.max(rest * 2, 1024));
      buf.copy(this.buf, 0, used, this.len);
    }
    this.len = rest;
  }

  /** Answers every complete request in `buf[0..len]` (inside a batch); returns how many bytes were used. */
  private parse(buf: Buffer): number {
    let pos = 0;
    while (pos < this.len && this.state !== State.Done && !this.paused) {
      if (this.started === 0) this.started = this.batchAt;
      if (this.state === State.Head) {
        const head = parseHead(buf, pos, this.len, this.server.limits, this.scanned);
        if (head === MORE) {
          this.scanned = this.len;
          return pos;
        }
        this.scanned = 0;
        // Bytes after a `Connection: close` request: node refuses them with 400 (and answers nothing else).
        if (head === HAND_OFF || (head.close && head.end + head.bodyLength < this.len)) return this.handOff(pos);
        const route = this.server.routes.take(head.method, head.url, head.headers, head.count, this.socket);
        if (route === undefined) return this.handOff(pos);
        this.head = head;
        this.route = route;
        this.bodyAt = head.end - pos;
        this.state = State.Body;
      }
      // Until the body is complete the request stays whole in the buffer, from `pos`.
      const head = this.head!;
      const bodyStart = pos + this.bodyAt;
      const bodyEnd = bodyStart + head.bodyLength;
      if (bodyEnd > this.len) return pos;
      this.state = head.close ? State.Done : State.Head;
      this.head = undefined;
      this.started = 0;
      pos = bodyEnd;
      this.answer(head, this.route!, head.bodyLength === 0 ? undefined : buf.subarray(bodyStart, bodyEnd));
      if (this.inFlight >= MAX_IN_FLIGHT || this.socket.writableLength + this.out.length >= MAX_UNSENT) this.pause();
    }
    return pos;
  }

  private answer(head: Head, route: FastRoute, body: Buffer | undefined): void {
    const reply = new H1Reply(this, head.method, head.close);
    if (this.last === undefined) this.first = reply;
    else this.last.next = reply;
    this.last = reply;
    this.inFlight++;
    this.server.answered++;
    const request = { method: head.method, url: head.url, headers: head.headers, socket: this.socket, body: undefined as unknown, peer: this.peer };
    this.server.routes.dispatch(route, request, reply, body);
  }

  /** `reply` has its bytes: write every answer ready in order. */
  answered(reply: H1Reply): void {
    if (reply !== this.first) return;
    let r: H1Reply | undefined = reply;
    while (r !== undefined && r.data !== undefined) {
      this.emit(r.data, r.ascii);
      this.inFlight--;
      if (r.close) {
        // The connection's last answer: the requests after it get none (as node:http after a
        // `connection: close` answer), nor does node get the connection.
        this.state = State.Done;
        this.handingOff = false;
        this.inFlight = 0;
        r = undefined;
        break;
      }
      r = r.next;
    }
    this.first = r;
    if (r === undefined) this.last = undefined;
    if (this.batchAt === 0) this.settle();
  }

  private emit(data: string | Buffer, ascii: boolean): void {
    if (this.socket.destroyed) return;
    if (typeof data === 'string') {
      if (this.batchAt !== 0) {
        this.out += data;
        this.outAscii &&= ascii;
      } else this.socket.write(data, ascii ? 'latin1' : 'utf8');
      return;
    }
    this.flushOut();
    this.socket.write(data);
  }

  private flushOut(): void {
    if (this.out.length === 0) return;
    const out = this.out;
    const encoding = this.outAscii ? 'latin1' : 'utf8';
    this.out = '';
    this.outAscii = true;
    if (!this.socket.destroyed) this.socket.write(out, encoding);
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    // A client that does not read its answers holds the connection no longer than a slow request.
    if (this.started === 0) this.started = Date.now();
    this.socket.pause();
  }

  /** Answers drained: read on, starting with what is already here. */
  private resume(): void {
    if (!this.paused || this.inFlight >= MAX_IN_FLIGHT || this.socket.writableLength >= MAX_UNSENT) return;
    this.paused = false;
    // The bytes left over are in the owned buffer (keep() copies them there).
    const now = this.len > 0 && this.buf !== undefined ? this.batch(this.buf) : undefined;
    if (!this.paused && !this.handingOff) this.socket.resume();
    this.settle(now);
  }

  /**
   * After reading or answering: hand off, end, or note that the connection is idle. `now`: the
   * batch's clock, when called at its end.
   */
  private settle(now?: number): void {
    if (this.socket.destroyed) return;
    if (this.paused) {
      this.resume();
      if (this.paused) return;
    }
    if (this.inFlight > 0) return;
    if (this.handingOff) {
      this.release();
      return;
    }
    if (this.state === State.Done || (this.closing && this.len === 0)) {
      // As node:http after a last answer: end, and destroy once written (the client may never close its side).
      this.socket.destroySoon();
      this.release();
      return;
    }
    if (this.ended) {
      // The client sent its last byte: node answers a request it cut short with 400.
      if (this.len > 0) this.clientError(Object.assign(new Error('Parse Error: Invalid EOF state'), { code: 'HPE_INVALID_EOF_STATE' }));
      else this.socket.end();
      return;
    }
    if (this.len === 0) {
      this.started = 0;
      this.idleSince = now ?? Date.now();
    }
  }

  /** From `pos` on the connection is node's (after the answers before it are written). */
  private handOff(pos: number): number {
    this.handingOff = true;
    this.state = State.Done;
    this.socket.pause();
    return pos;
  }

  /** Gives the socket and its unused bytes to node. */
  private release(): void {
    const rest = this.len > 0 ? Buffer.from(this.buf!.subarray(0, this.len)) : undefined;
    this.len = 0;
    this.buf = undefined;
    this.detach();
    if (this.handingOff) this.server.handOff(this.socket, rest);
  }

  private detach(): void {
    const s = this.socket;
    s.off('data', this.onData);
    s.off('drain', this.onDrain);
    s.off('end', this.onEnd);
    s.off('error', ignore);
    s.off('close', this.onClose);
    this.server.connections.delete(this);
  }

  /** The listener is closing: an idle connection closes now, a busy one after its answers. */
  drain(): void {
    this.closing = true;
    if (this.inFlight === 0 && !this.paused && this.len === 0) this.socket.destroy();
  }

  /** The request timeout (408, as node's) and the keep-alive timeout. */
  expire(now: number): void {
    const { requestTimeoutMs, keepAliveTimeoutMs } = this.server.opts;
    if (this.started !== 0 && now - this.started > requestTimeoutMs && this.inFlight === 0) {
      this.clientError(Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }));
    } else if (this.idleSince !== 0 && now - this.idleSince > keepAliveTimeoutMs) {
      this.socket.destroy();
    }
  }

  /** As node:http: the server's clientError listener (fastify's) answers and destroys the socket. */
  private clientError(err: Error): void {
    this.state = State.Done;
    this.detach();
    this.socket.on('error', ignore);
    if (!this.server.server.emit('clientError', err, this.socket)) this.socket.destroy();
  }
}

function ignore(): void {}

/**
 * Puts the HTTP/1.1 server in front of `server`'s node:http connection listener; call it
 * before the connection gate wraps the listeners.
 */
export function serveHttp1(server: Server, routes: FastRoutes, limits: H1Limits): H1Server {
  // node:https hands its HTTP machinery the socket once the TLS handshake is done.
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
  const [node] = server.listeners(event) as ConnectionListener[];
  if (node === undefined) throw new Error(`serveHttp1: the server has no ${event} listener`);
  server.removeAllListeners(event);
  const h1 = new H1Server(server, routes, limits, node);
  server.on(event, (socket: Socket) => h1.accept(socket));
  SERVERS.set(server, h1);
  return h1;
}

const SERVERS = new WeakMap<Server, H1Server>();

/** The HTTP/1.1 server in front of `server`, if it has one. */
export function http1Of(server: Server): H1Server | undefined {
  return SERVERS.get(server);
}
