/**
 * Raw HTTP/1.1 exchanges over real sockets (plain or TLS): the bytes a test chooses, written
 * as given (one write a part, optionally spaced out), and everything the server sends back
 * until it closes or falls quiet. For the h1 server's tests, which compare what two sidecars
 * send for the same bytes: dates, times and ids are normalized in `text`.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface Exchange {
  /** The bytes, latin1, with dates, ISO times, UUIDs and approval ids normalized. */
  text: string;
  /** The bytes as sent, latin1 (their framing: normalized ids change lengths). */
  raw: string;
  /** Whether the server closed the connection. */
  closed: boolean;
}

export interface ExchangeOptions {
  /** Milliseconds between parts. */
  gapMs?: number;
  /** Once every part is written, finish after this long without a byte (default 400). */
  quietMs?: number;
  /** Half-close after the last part. */
  end?: boolean;
  /** TLS, trusting this CA (servername localhost). */
  ca?: string;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g;

export const normalize = (s: string): string =>
  s.replace(/\r\nDate: [^\r]*/gi, '\r\nDate: <date>').replace(UUID, '<id>').replace(/apr_[0-9A-Za-z_-]+/g, '<apr>').replace(ISO_TIME, '<time>');

/**
 * Sends `parts` (one write each, `gapMs` apart) and reads until the server closes the
 * connection or, once every part is written, `quietMs` pass without a byte (at least 1.5 s
 * for the first byte: a loaded machine may be slow to answer at all).
 */
export function exchange(port: number, parts: ReadonlyArray<string | Buffer>, opts: ExchangeOptions = {}): Promise<Exchange> {
  const quiet = opts.quietMs ?? 400;
  return new Promise((resolve, reject) => {
    const sock: Socket = opts.ca === undefined ? connect(port, '127.0.0.1') : tlsConnect({ port, host: '127.0.0.1', ca: opts.ca, servername: 'localhost' });
    sock.setNoDelay(true);
    const chunks: Buffer[] = [];
    let closed = false;
    let writing = true;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      sock.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ text: normalize(raw), raw, closed });
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(finish, chunks.length === 0 ? Math.max(quiet, 1500) : quiet);
    };
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (!writing) arm();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    sock.on('close', () => {
      closed = true;
      finish();
    });
    sock.on(opts.ca === undefined ? 'connect' : 'secureConnect', async () => {
      for (const p of parts) {
        if (sock.destroyed) return;
        sock.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
        if (opts.gapMs !== undefined) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      writing = false;
      // The client's last byte (a half-close): the server may still answer.
      if (opts.end === true && !sock.destroyed) sock.end();
      arm();
    });
  });
}
