/**
 * An HTTP/1.1 response parser for the control plane client (h1-pool.ts): status line, headers,
 * and a body framed by Content-Length, chunked transfer coding (RFC 9112 §7.1) or the end of
 * the connection; 1xx interim responses are skipped. Only what the edge reads is kept: the
 * status, the body text, Cache-Control and x-ascend-request-facts, and whether the connection
 * may carry another request. Bounded: a head over 64 KiB or a body over 1 MiB is an error.
 */
import { FACTS_HEADER } from './request-facts.js';

const MAX_HEAD = 64 * 1024;
const MAX_BODY = 1024 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');

export class ResponseParser {
  status = 0;
  cacheControl: string | undefined;
  facts: string | undefined;
  /** False after `Connection: close`, an HTTP/1.0 answer without keep-alive, or a body framed by the close. */
  reusable = true;
  /** From `Keep-Alive: timeout=N`, in ms. */
  keepAliveMs: number | undefined;
  /** Bytes received after the response ended (a server that sent more than it framed). */
  extra = false;
  private pending: Buffer = Buffer.alloc(0);
  private state: 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'close' | 'done' = 'head';
  private remaining = 0;
  private body: Buffer[] = [];
  private bodyBytes = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  /** Frames a body by the end of the connection: the connection ended, so it is complete. */
  end(): boolean {
    if (this.state !== 'close') return false;
    this.state = 'done';
    return true;
  }

  text(): string {
    const b = this.body;
    return b.length === 1 ? (b[0] as Buffer).toString('utf8') : Buffer.concat(b).toString('utf8');
  }

  /** Feeds bytes; throws an Error on a malformed or oversized response. True once the response is complete. */
  feed(chunk: Buffer): boolean {
    if (this.state === 'done') {
      this.extra = true;
      return true;
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      switch (this.state) {
        case 'head': {
          const at = this.pending.indexOf(CRLF2);
          if (at === -1) {
            if (this.pending.length > MAX_HEAD) throw new Error('response head larger than 64 KiB');
            return false;
          }
          const head = this.pending.toString('latin1', 0, at);
          this.pending = this.pending.subarray(at + 4);
          this.head(head);
          break;
        }
        case 'length':
        case 'chunk-data': {
          // `remaining` bytes of body: all of a Content-Length body, or one chunk's data.
          const n = Math.min(this.remaining, this.pending.length);
          if (n > 0) this.take(n);
          if (this.remaining > 0) return false;
          this.state = this.state === 'length' ? 'done' : 'chunk-crlf';
          break;
        }
        case 'chunk-size': {
          const at = this.pending.indexOf('\r\n');
          if (at === -1) {
            if (this.pending.length > 1024) throw new Error('chunk size line too long');
            return false;
          }
          const line = this.pending.toString('latin1', 0, at);
          this.pending = this.pending.subarray(at + 2);
          const size = /^([0-9a-fA-F]{1,8})[ \t]*(;.*)?$/.exec(line);
          if (size === null) throw new Error('malformed chunk size');
          this.remaining = parseInt(size[1] as string, 16);
          this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-crlf': {
          if (this.pending.length < 2) return false;
          if (this.pending[0] !== 13 || this.pending[1] !== 10) throw new Error('chunk not followed by CRLF');
          this.pending = this.pending.subarray(2);
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          // Trailer fields end with an empty line; none is read.
          const at = this.pending.indexOf('\r\n');
          if (at === -1) {
            if (this.pending.length > MAX_HEAD) throw new Error('trailers larger than 64 KiB');
            return false;
          }
          this.pending = this.pending.subarray(at + 2);
          if (at === 0) this.state = 'done';
          break;
        }
        case 'close': {
          if (this.pending.length > 0) this.take(this.pending.length);
          return false;
        }
        case 'done':
          if (this.pending.length > 0) this.extra = true;
          return true;
      }
    }
  }

  private take(n: number): void {
    this.bodyBytes += n;
    if (this.bodyBytes > MAX_BODY) throw new Error('response body larger than 1 MiB');
    this.body.push(this.pending.subarray(0, n));
    this.pending = this.pending.subarray(n);
    this.remaining -= n;
  }

  private head(head: string): void {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] as string);
    if (m === null) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] as string).slice(0, 40))}`);
    const status = Number(m[2]);
    let length: number | undefined;
    let chunked = false;
    let connection = '';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error('malformed header line');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      switch (name) {
        case 'content-length':
          if (!/^\d{1,10}$/.test(value) || (length !== undefined && length !== Number(value))) throw new Error('malformed content-length');
          length = Number(value);
          break;
        case 'transfer-encoding':
          chunked = value.toLowerCase().split(',').map((s) => s.trim()).includes('chunked');
          if (!chunked) throw new Error(`unsupported transfer-encoding ${value}`);
          break;
        case 'connection':
          connection = value.toLowerCase();
          break;
        case 'keep-alive': {
          const t = /timeout=(\d+)/i.exec(value);
          if (t !== null) this.keepAliveMs = Number(t[1]) * 1000;
          break;
        }
        case 'cache-control':
          this.cacheControl = this.cacheControl === undefined ? value : `${this.cacheControl}, ${value}`;
          break;
        case FACTS_HEADER:
          this.facts = value;
          break;
      }
    }
    // 1xx: an interim answer; the final one follows (RFC 9110 §15.2).
    if (status >= 100 && status < 200) {
      this.cacheControl = undefined;
      this.facts = undefined;
      return;
    }
    this.status = status;
    if (connection.includes('close') || (m[1] === '0' && !connection.includes('keep-alive'))) this.reusable = false;
    if (chunked) this.state = 'chunk-size';
    else if (length !== undefined) {
      this.remaining = length;
      this.state = length === 0 ? 'done' : 'length';
    } else if (status === 204 || status === 304) this.state = 'done';
    else {
      this.reusable = false;
      this.state = 'close';
    }
  }
}
