/**
 * One pino root per process. Writes are asynchronous and batched (sonic-boom) so a check never
 * waits on stdout, lines still appear within 100 ms, and shutdown flushes synchronously.
 */
import cluster from 'node:cluster';
import pino, { type DestinationStream, type Logger } from 'pino';
import { LineBuffer, StringLines, type LineOut } from './line-buffer.js';
import sonicBoom, { type SonicBoom, type SonicBoomOpts } from 'sonic-boom';

// The package is CommonJS (`module.exports = SonicBoom`) with ESM-style typings.
const SonicBoomClass = sonicBoom as unknown as new (opts: SonicBoomOpts) => SonicBoom;

/** Header and field names whose values never reach a log. */
export const REDACTED_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];

export interface LoggerOptions {
  level: string;
  /** Defaults to asynchronous stdout. */
  destination?: DestinationStream;
}

/**
 * The asynchronous log destination (stdout or a file): sonic-boom in buffer mode behind a
 * writer that takes both pino's string lines and the decision log's ready-made chunks of
 * lines (line-buffer.ts), so there is one writer per file descriptor and lines never
 * interleave. A write() happens once `minLength` bytes are buffered or every 100 ms: writing as
 * soon as anything was buffered cost ~20 µs of CPU per check under load (a write syscall through
 * the threadpool for every line or two). Under --workers the writes stay within PIPE_BUF (4096)
 * and hold whole lines, so they are atomic on a shared stdout pipe.
 */
export class BufferedDestination {
  private readonly boom: SonicBoom;
  /** The most a chunk of whole lines handed to write() should hold (PIPE_BUF when shared). */
  readonly chunkBytes: number;

  constructor(dest: number | string) {
    const shared = cluster.isWorker;
    this.chunkBytes = shared ? 4096 : 16_384;
    this.boom = new SonicBoomClass({
      dest,
      sync: false,
      contentMode: 'buffer',
      minLength: shared ? 3072 : 16_384,
      maxWrite: shared ? 4096 : 65_536,
      periodicFlush: 100,
      ...(typeof dest === 'string' ? { mkdir: true, append: true } : {}),
    });
  }

  /** A string (pino, the SIEM stream) or a chunk of whole lines (the decision log). */
  write(data: string | Buffer): boolean {
    // contentMode 'buffer' takes Buffers; the typings only know strings.
    return this.boom.write((typeof data === 'string' ? Buffer.from(data) : data) as unknown as string);
  }

  flushSync(): void {
    this.boom.flushSync();
  }
}

/**
 * How a sink writes lines to `dest`: batched into byte chunks when asked to and the
 * destination takes chunks (the server), else one string per line (tests, plain streams).
 */
export function linesTo(dest: { write(s: string): unknown }, batch: boolean): LineOut {
  return batch && dest instanceof BufferedDestination ? new LineBuffer(dest, dest.chunkBytes) : new StringLines(dest);
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? new BufferedDestination(1);
  return pino(
    {
      level: opts.level,
      base: { service: 'ascend-sidecar', pid: process.pid },
      // Defence in depth: any object logged with these paths is masked even if a caller forgets.
      redact: {
        paths: REDACTED_HEADERS.flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`]).concat(['api_key', '*.api_key']),
        censor: '[REDACTED]',
      },
    },
    dest,
  );
}

/** The destination stream behind a logger (shared by the decision log). */
export function streamOf(logger: Logger): DestinationStream {
  return (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym] as DestinationStream;
}

/**
 * Writes out what an asynchronous destination still buffers. Needed before process.exit():
 * an async sonic-boom would otherwise drop the last lines (the shutdown log, final decisions).
 */
export function flushSync(logger: Logger): void {
  flushStream(streamOf(logger) as { flushSync?: () => void });
}

/** flushSync on any destination that has one (sonic-boom); a no-op for plain streams. */
export function flushStream(stream: { flushSync?: () => void } | undefined): void {
  try {
    stream?.flushSync?.();
  } catch {
    // sonic-boom refuses before it has opened its file (nothing buffered then) or after close.
  }
}

/** Copies headers with secret values masked (decision log `include_headers`). */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) out[k] = REDACTED_HEADERS.includes(k) ? '[REDACTED]' : (headers[k] as string);
  return out;
}
