/**
 * One pino root per process. Writes are asynchronous (sonic-boom, no minimum buffer) so a
 * check never waits on stdout, yet lines appear promptly; `flush()` runs on shutdown.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

/** Header and field names whose values never reach a log. */
export const REDACTED_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];

export interface LoggerOptions {
  level: string;
  /** Defaults to asynchronous stdout. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  // maxWrite = PIPE_BUF: each write() holds whole lines and stays atomic on a pipe, so lines
  // from several --workers sharing stdout never interleave.
  const dest = opts.destination ?? pino.destination({ dest: 1, sync: false, maxWrite: 4096 });
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
