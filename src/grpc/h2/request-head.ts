/**
 * The headers of a gRPC request as its header block is decoded (RFC 9113 8.3 pseudo-headers,
 * 8.2.2 connection-specific fields), keeping only what a gRPC call needs: `:method`, `:path`,
 * `content-type`, `grpc-timeout`, `grpc-encoding`. One per connection, reset per block, so
 * decoding a request allocates no header object.
 */
import type { HeaderSink } from './hpack.js';

/** The request headers of the block being decoded; one per connection, reset per block. */
export class RequestHead implements HeaderSink {
  method = '';
  path = '';
  contentType = '';
  timeout: string | undefined;
  encoding = 'identity';
  scheme = false;
  regular = false;
  malformed: string | undefined;
  trailers = false;
  /** `content-length`, or -1 without one (RFC 9113 8.1.1: checked against the DATA received). */
  contentLength = -1;

  reset(trailers: boolean): void {
    this.method = this.path = this.contentType = '';
    this.timeout = undefined;
    this.contentLength = -1;
    this.encoding = 'identity';
    this.scheme = this.regular = false;
    this.malformed = undefined;
    this.trailers = trailers;
  }

  field(name: string, value: string, valid: boolean): void {
    if (this.malformed !== undefined) return;
    if (!valid) return this.bad(`invalid header field ${JSON.stringify(name)}`);
    if (name.charCodeAt(0) === 0x3a) {
      if (this.regular || this.trailers) return this.bad(`pseudo-header ${name} after regular fields or in trailers`);
      switch (name) {
        case ':method': if (this.method !== '') return this.bad('two :method'); this.method = value; return;
        case ':path': if (this.path !== '') return this.bad('two :path'); this.path = value; return;
        case ':scheme': if (this.scheme) return this.bad('two :scheme'); this.scheme = true; return;
        case ':authority': return;
        default: return this.bad(`unknown pseudo-header ${name}`);
      }
    }
    this.regular = true;
    switch (name) {
      case 'content-type': this.contentType = value; return;
      case 'grpc-timeout': this.timeout = value; return;
      case 'content-length':
        if (!/^\d{1,15}$/.test(value) || (this.contentLength >= 0 && Number(value) !== this.contentLength)) return this.bad('content-length not one number');
        this.contentLength = Number(value);
        return;
      case 'grpc-encoding': this.encoding = value; return;
      case 'te': if (value !== 'trailers') this.bad('te other than trailers'); return;
      case 'connection': case 'keep-alive': case 'proxy-connection': case 'transfer-encoding': case 'upgrade':
        return this.bad(`connection-specific header ${name}`);
      default:
    }
  }

  private bad(reason: string): void {
    this.malformed = reason;
  }
}

