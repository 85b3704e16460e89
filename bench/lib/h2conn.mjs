// One HTTP/2 client connection on a raw socket that sends gRPC unary requests from pre-framed
// bodies and reports each answer. Frame format and HPACK scope: see h2wire.mjs.
//
// Writes made while handling one socket read (each answer usually triggers the next request)
// are gathered and flushed in one socket.write at the end of that turn — the batching h2load does.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { F, T, MAX_WINDOW, clientStart, frameBytes, grpcRequestBlocks, headersPayload, hpackInt, readResponseBlock, windowUpdate } from './h2wire.mjs';

/**
 * @typedef {{ ok: boolean, grpcStatus?: number, latencyUs: number, reason?: string, block?: Buffer }} Answer
 */
export class RawGrpcConnection {
  /**
   * @param {object} o
   * @param {number} o.port
   * @param {string} o.path gRPC method path
   * @param {{huffman: boolean, bytes: Buffer}} [o.grpcStatusName] learned encoding of "grpc-status"
   * @param {(answer: Answer) => void} o.onAnswer called once per request
   * @param {boolean} [o.keepBlocks] keep the final header block on each answer (calibration)
   */
  constructor({ port, path, grpcStatusName, onAnswer, keepBlocks = false }) {
    Object.assign(this, { port, grpcStatusName, onAnswer, keepBlocks });
    this.blocks = grpcRequestBlocks(`127.0.0.1:${port}`, path);
    // Header indexing (see grpcRequestBlocks) starts once the server's SETTINGS show room in its
    // decoder table; until then, and if it has none, requests go as plain literals.
    this.headerMode = 'literal';
    this.settled = false; // the server's first SETTINGS seen
    this.sizeUpdate = undefined; // a pending HPACK dynamic table size update
    this.nextId = 1;
    this.sendWindow = 65535; // connection-level, grows with the server's WINDOW_UPDATEs
    this.peerStreamWindow = 65535;
    this.streams = new Map();
    this.waiting = [];
    this.out = [];
    this.flushQueued = false;
    this.rest = null;
    this.received = 0;
    this.partial = null; // a header block continued in CONTINUATION frames
    this.closed = false;
  }

  connect() {
    return new Promise((resolve, reject) => {
      this.socket = net.connect({ host: '127.0.0.1', port: this.port, noDelay: true }, () => {
        this.socket.write(clientStart());
        resolve(this);
      });
      this.socket.once('error', (err) => { this.fail(`socket error: ${err.message}`); reject(err); });
      this.socket.on('close', () => this.fail('connection closed'));
      this.socket.on('data', (chunk) => this.onData(chunk));
    });
  }

  get inflight() { return this.streams.size + this.waiting.length; }

  /** Send one request body (a complete gRPC frame). */
  send(body) {
    if (this.closed) return this.onAnswer({ ok: false, latencyUs: 0, reason: 'connection closed' });
    if (body.length > this.peerStreamWindow) throw new Error('request body exceeds the server stream window');
    const t0 = performance.now();
    if (this.sendWindow < body.length || this.waiting.length) this.waiting.push({ body, t0 });
    else this.write(body, t0);
  }

  write(body, t0) {
    const id = this.nextId;
    this.nextId += 2;
    this.sendWindow -= body.length;
    let hb = this.blocks[this.headerMode];
    if (this.headerMode === 'first') this.headerMode = 'indexed';
    if (this.sizeUpdate) { hb = Buffer.concat([this.sizeUpdate, hb]); this.sizeUpdate = undefined; }
    const b = Buffer.allocUnsafe(18 + hb.length + body.length);
    b.writeUIntBE(hb.length, 0, 3); b[3] = T.HEADERS; b[4] = F.END_HEADERS; b.writeUInt32BE(id, 5);
    hb.copy(b, 9);
    const d = 9 + hb.length;
    b.writeUIntBE(body.length, d, 3); b[d + 3] = T.DATA; b[d + 4] = F.END_STREAM; b.writeUInt32BE(id, d + 5);
    body.copy(b, d + 9);
    this.streams.set(id, { t0, headers: false, data: false, status200: false, grpcStatus: undefined });
    this.queue(b);
  }

  queue(buf) {
    this.out.push(buf);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush() {
    this.flushQueued = false;
    if (this.closed || !this.out.length) return;
    this.socket.write(this.out.length === 1 ? this.out[0] : Buffer.concat(this.out));
    this.out = [];
  }

  onData(chunk) {
    let buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= 9) {
      const len = buf.readUIntBE(pos, 3);
      if (buf.length - pos < 9 + len) break;
      this.onFrame(buf[pos + 3], buf[pos + 4], buf.readUInt32BE(pos + 5) & 0x7fffffff, buf.subarray(pos + 9, pos + 9 + len));
      pos += 9 + len;
    }
    this.rest = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null;
  }

  onFrame(type, flags, id, payload) {
    switch (type) {
      case T.DATA: return this.onDataFrame(flags, id, payload);
      case T.HEADERS: return this.onHeaderFragment(id, flags, headersPayload(flags, payload), flags & F.END_STREAM);
      case T.CONTINUATION: return this.onHeaderFragment(id, this.partial.flags | flags, payload, this.partial.flags & F.END_STREAM);
      case T.RST_STREAM: return this.finish(id, `RST_STREAM code ${payload.readUInt32BE(0)}`);
      case T.SETTINGS: return flags & F.ACK ? undefined : this.onSettings(payload);
      case T.PING: return flags & F.ACK ? undefined : this.queue(frameBytes(T.PING, F.ACK, 0, payload));
      case T.GOAWAY: return this.fail(`GOAWAY code ${payload.readUInt32BE(4)}`);
      case T.WINDOW_UPDATE: return id === 0 ? this.onWindowUpdate(payload.readUInt32BE(0) & 0x7fffffff) : undefined;
      default: return undefined; // PRIORITY and unknown frames are ignored (RFC 9113 §5.5)
    }
  }

  onDataFrame(flags, id, payload) {
    this.received += payload.length;
    if (this.received > MAX_WINDOW / 2) { this.queue(windowUpdate(0, this.received)); this.received = 0; }
    const s = this.streams.get(id);
    if (s && payload.length > (flags & F.PADDED ? 1 + payload[0] : 0)) s.data = true;
    if (flags & F.END_STREAM) this.finish(id, 'stream ended without trailers');
  }

  onHeaderFragment(id, flags, fragment, endStream) {
    const chunks = this.partial ? [...this.partial.chunks, fragment] : [fragment];
    if (!(flags & F.END_HEADERS)) { this.partial = { id, flags: flags | endStream, chunks }; return; }
    this.partial = null;
    const block = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const s = this.streams.get(id);
    if (!s) return;
    const r = readResponseBlock(block, this.grpcStatusName);
    if (!s.headers) { s.headers = true; s.status200 = r.status200; }
    if (r.grpcStatus !== undefined) s.grpcStatus = r.grpcStatus;
    if (endStream) this.finish(id, undefined, block);
  }

  onSettings(p) {
    let tableSize; // the server decoder's HPACK table limit; 4,096 unless it says otherwise
    for (let i = 0; i + 6 <= p.length; i += 6) {
      const key = p.readUInt16BE(i);
      const value = p.readUInt32BE(i + 2);
      if (key === 0x4) this.peerStreamWindow = value;
      if (key === 0x1) tableSize = value;
    }
    if (tableSize !== undefined && tableSize !== 4096) {
      // RFC 7541 §4.2: acknowledge a changed limit with a size update in the next block. Keep our
      // entries if they fit, else empty the table and send literals from now on.
      const keep = tableSize >= this.blocks.tableBytes;
      this.sizeUpdate = Buffer.from(hpackInt(keep ? tableSize : 0, 5, 0x20));
      if (!keep) this.headerMode = 'literal';
      else if (this.headerMode === 'literal' && !this.settled) this.headerMode = 'first';
    } else if (!this.settled) {
      this.headerMode = 'first';
    }
    this.settled = true;
    this.queue(frameBytes(T.SETTINGS, F.ACK, 0));
  }

  onWindowUpdate(increment) {
    this.sendWindow += increment;
    while (this.waiting.length && this.sendWindow >= this.waiting[0].body.length) {
      const w = this.waiting.shift();
      this.write(w.body, w.t0);
    }
  }

  finish(id, error, block) {
    const s = this.streams.get(id);
    if (!s) return;
    this.streams.delete(id);
    const latencyUs = (performance.now() - s.t0) * 1000;
    let reason = error;
    if (!reason && !s.status200) reason = 'HTTP status not 200';
    if (!reason && s.grpcStatus !== undefined && s.grpcStatus !== 0) reason = `grpc-status ${s.grpcStatus}`;
    if (!reason && !s.data) reason = 'no response message';
    const answer = { ok: !reason, grpcStatus: s.grpcStatus, latencyUs, reason };
    if (this.keepBlocks) answer.block = block;
    this.onAnswer(answer);
  }

  /** The connection is gone: every request still open fails. */
  fail(reason) {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.streams.keys()]) this.finish(id, reason);
    for (const w of this.waiting.splice(0)) this.onAnswer({ ok: false, latencyUs: 0, reason });
    this.socket?.destroy();
  }

  /** Polite close: GOAWAY(NO_ERROR), then end the socket. */
  close() {
    if (this.closed) return;
    this.closed = true;
    const p = Buffer.alloc(8);
    this.socket.end(Buffer.concat([...this.out, frameBytes(T.GOAWAY, 0, 0, p)]));
  }
}
