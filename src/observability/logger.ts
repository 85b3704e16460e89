/**
 * One pino root per process, on a synchronous descriptor writer (fd-destination.ts) that the
 * decision log and SIEM stream share: one writer per file descriptor, so lines never
 * interleave. The decision log batches its lines into chunks (line-buffer.ts) and writes a
 * chunk when it is full or 100 ms old, so a check never waits on a write of its own.
 */
import cluster from 'node:cluster';
import pino, { type DestinationStream, type Logger } from 'pino';
import { FdDestination } from './fd-destination.js';
import { LineBuffer, StringLines, type LineOut } from './line-buffer.js';
import { DEFAULT_REDACTION, REDACTED, type Redaction } from './redact.js';

export interface LoggerOptions {
  level: string;
  /** Defaults to stdout. */
  destination?: DestinationStream;
  /** Which header names are masked in logged `headers` objects; the built-in list by default. */
  redaction?: Redaction;
}

/**
 * The log destination for stdout (1) or a file path. Under --workers every worker shares the
 * primary's stdout: chunks stay within PIPE_BUF (4096) so each write is atomic and holds whole
 * lines; alone, 64 KiB chunks mean a few hundred writes a second at full load.
 */
export function logDestination(dest: number | string): FdDestination {
  return new FdDestination(dest, { chunkBytes: cluster.isWorker ? 4096 : 65_536 });
}

/**
 * How a sink writes lines to `dest`: batched into byte chunks when asked to and the
 * destination takes chunks (the server), else one string per line (tests, plain streams).
 * `onLostLines` hears of this sink's lines the destination could not write during the sink's
 * own writes (full backlog, write error); on a shared destination, lines lost later from its
 * backlog (a flush timeout at exit) are counted only in ascend_log_dropped_bytes_total.
 */
export function linesTo(dest: { write(s: string): unknown }, batch: boolean, onLostLines?: (lines: number) => void): LineOut {
  if (!(dest instanceof FdDestination)) return new StringLines(dest);
  const sink = onLostLines === undefined ? dest : {
    write(data: string | Buffer): void {
      const before = dest.lostLines;
      dest.write(data);
      if (dest.lostLines > before) onLostLines(dest.lostLines - before);
    },
  };
  return batch ? new LineBuffer(sink, dest.chunkBytes) : new StringLines(sink);
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? logDestination(1);
  return pino(
    {
      level: opts.level,
      base: { service: 'ascend-sidecar', pid: process.pid },
      // Defence in depth: any object logged with these paths is masked even if a caller forgets.
      redact: {
        paths: (opts.redaction ?? DEFAULT_REDACTION).headerNames
          .flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`]).concat(['api_key', '*.api_key']),
        censor: REDACTED,
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
 * Writes out what a destination still holds (bytes a full pipe refused). Needed before
 * process.exit(), or the last lines (the shutdown log, final decisions) could be lost.
 */
export function flushSync(logger: Logger): void {
  flushStream(streamOf(logger) as { flushSync?: () => void });
}

/** flushSync on any destination that has one; a no-op for plain streams. */
export function flushStream(stream: { flushSync?: () => void } | undefined): void {
  stream?.flushSync?.();
}
