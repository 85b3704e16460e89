/**
 * Just what H2Connection (src/grpc/h2/connection.ts) uses of a socket, for tests that drive a
 * connection without a network: subclasses decide what write() keeps. destroy() closes once, a
 * microtask later, as a net.Socket's 'close' comes after destroy() returns.
 */
import { EventEmitter } from 'node:events';
import type { ConnectionHost, H2Connection, H2Stats } from '../../src/grpc/h2/connection.js';
import { OutputHeap } from '../../src/grpc/h2/output-heap.js';

export abstract class H2TestSocket extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  get writable(): boolean {
    return !this.destroyed;
  }
  setNoDelay(): void {}
  setTimeout(): void {}
  pause(): void {}
  resume(): void {}
  abstract write(b: Buffer): boolean;
  end(): void {
    this.destroy();
  }
  destroySoon(): void {
    this.destroy();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.emit('close'));
  }
}

/**
 * The host fields H2Connection reads, with the tests' shared values; a test sets `limits`,
 * `methods`, run() and closed() to what it drives.
 */
export abstract class H2TestHost implements Omit<ConnectionHost, 'methods' | 'limits' | 'run' | 'closed'> {
  readonly maxReceiveBytes = 4096;
  readonly logger = undefined;
  readonly maxBufferedBytes = 1 << 20;
  readonly idleTimeoutMs = 60_000;
  readonly stats: H2Stats = { idleStreamResets: 0, outputClosed: 0, controlFloods: 0, unsentPeak: 0 };
  buffered = 0;
  unsent = 0;
  readonly holders = new OutputHeap<H2Connection>();
  readonly connections = new Set<H2Connection>();
  arriving(): void {}
  arrived(): void {}
}
