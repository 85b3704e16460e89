/**
 * Where log bytes go: a file descriptor (stdout, or a file opened for appending), written
 * synchronously a whole chunk at a time. The caller may reuse its chunk as soon as write()
 * returns, so the decision log fills one buffer over and over and makes no garbage.
 *
 * Why not asynchronous writes (sonic-boom, until this): every chunk then has to live on until
 * the threadpool has written it, long enough to be promoted to V8's old space, and its
 * backing store is freed only by the next full GC. Under load that held 40–75 MiB of dead
 * log buffers in RSS (bench/README.md, optimizations log). A write(2) of a 64 KiB chunk to a
 * file costs ~80 µs on the bench VM, a hundred-odd times a second at full load.
 *
 * A non-blocking pipe that is full (EAGAIN) does not stall the process: the rest waits in a
 * bounded backlog, in order, retried on a timer; past the bound, new bytes are dropped and
 * counted (`ascend_log_dropped_bytes_total`) rather than kept without limit. A blocking
 * descriptor blocks, as pino's own synchronous destination does.
 */
import { mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Process-wide write losses, read by the metrics registry. */
export const logLosses = { droppedBytes: 0 };

export interface FdDestinationOptions {
  /** The most one chunk should hold; PIPE_BUF (4096) keeps writes atomic on a shared pipe. */
  chunkBytes?: number;
  /** Bytes kept while the descriptor refuses writes (EAGAIN) before new ones are dropped. */
  maxBacklogBytes?: number;
  /** How long flushSync waits on a descriptor that refuses writes before dropping the rest. */
  flushTimeoutMs?: number;
}

const MAX_RETRY_MS = 100;

function isAgain(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'EAGAIN';
}

export class FdDestination {
  readonly chunkBytes: number;
  private readonly fd: number;
  private readonly maxBacklog: number;
  private readonly flushTimeoutMs: number;
  /** Bytes a full pipe refused, oldest first (owned copies). */
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  private retry: NodeJS.Timeout | undefined;
  private retryMs = 1;
  private reported = false;
  /** Whole or partial lines lost on this descriptor (newlines in the bytes it could not write). */
  lostLines = 0;

  /** `dest`: a descriptor, or a path (parent directories are created, the file appended to). */
  constructor(dest: number | string, opts: FdDestinationOptions = {}) {
    this.chunkBytes = opts.chunkBytes ?? 65_536;
    this.maxBacklog = opts.maxBacklogBytes ?? 16 * 2 ** 20;
    this.flushTimeoutMs = opts.flushTimeoutMs ?? 2000;
    if (typeof dest === 'number') this.fd = dest;
    else {
      try {
        mkdirSync(dirname(dest), { recursive: true });
        this.fd = openSync(dest, 'a');
      } catch (e) {
        throw new Error(`cannot open log file ${dest}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * Writes `data` now (or queues it behind bytes a full pipe refused). A Buffer is not kept:
   * the caller may overwrite it once this returns. False when bytes are waiting.
   */
  write(data: string | Buffer): boolean {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.backlog.length === 0) {
      const off = this.writeOut(buf);
      if (off === buf.length) return true;
      // The rest of a write that has begun is always kept: a dropped tail would leave half a line.
      this.keep(buf.subarray(off), true);
      this.scheduleRetry();
      return false;
    }
    this.keep(buf, false);
    return false;
  }

  /** Writes out the backlog before the process exits, waiting briefly on a full pipe. */
  flushSync(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    const giveUp = Date.now() + this.flushTimeoutMs;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (this.drainOnce() !== 'done' && Date.now() < giveUp) Atomics.wait(nap, 0, 0, 5);
    if (this.backlog.length > 0) this.dropBacklog();
  }

  /** How many bytes of `buf` were written; stops early only on EAGAIN. Other errors lose the bytes (counted). */
  private writeOut(buf: Buffer): number {
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(this.fd, buf, off, buf.length - off);
      } catch (e) {
        if (isAgain(e)) return off;
        this.lose(buf.subarray(off), e as Error);
        return buf.length;
      }
    }
    return off;
  }

  private keep(bytes: Buffer, started: boolean): void {
    if (!started && this.backlogBytes + bytes.length > this.maxBacklog) {
      this.lost(bytes);
      return;
    }
    this.backlog.push(Buffer.from(bytes));
    this.backlogBytes += bytes.length;
  }

  /** Writes what the descriptor takes: 'done' (backlog empty), 'progress' or 'stuck'. */
  private drainOnce(): 'done' | 'progress' | 'stuck' {
    const before = this.backlogBytes;
    while (this.backlog.length > 0) {
      const head = this.backlog[0] as Buffer;
      const off = this.writeOut(head);
      this.backlogBytes -= off;
      if (off < head.length) {
        this.backlog[0] = head.subarray(off);
        return this.backlogBytes < before ? 'progress' : 'stuck';
      }
      this.backlog.shift();
    }
    return 'done';
  }

  /** Retries soon while the reader keeps up, backing off to 100 ms while it takes nothing. */
  private scheduleRetry(): void {
    if (this.retry !== undefined) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      const r = this.drainOnce();
      if (r === 'done') return;
      this.retryMs = r === 'progress' ? 1 : Math.min(MAX_RETRY_MS, this.retryMs * 2);
      this.scheduleRetry();
    }, this.retryMs);
    this.retry.unref();
  }

  private dropBacklog(): void {
    for (const b of this.backlog) this.lost(b);
    this.backlog = [];
    this.backlogBytes = 0;
  }

  /** Counts bytes that will never be written, and the lines they ended. */
  private lost(bytes: Buffer): void {
    logLosses.droppedBytes += bytes.length;
    for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) this.lostLines++;
  }

  private lose(bytes: Buffer, e: Error): void {
    this.lost(bytes);
    if (this.reported) return;
    this.reported = true;
    try {
      // The log itself is what failed: say so once, where an operator will see it.
      process.stderr.write(`ascend-sidecar: log write failed (${e.message}); further failures are counted in ascend_log_dropped_bytes_total\n`);
    } catch {
      // stderr is gone too: the counter is all that is left.
    }
  }
}
