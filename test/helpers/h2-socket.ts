/**
 * Just what H2Connection (src/grpc/h2/connection.ts) uses of a socket, for tests that drive a
 * connection without a network: subclasses decide what write() keeps. destroy() closes once, a
 * microtask later, as a net.Socket's 'close' comes after destroy() returns.
 */
import { EventEmitter } from 'node:events';

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
