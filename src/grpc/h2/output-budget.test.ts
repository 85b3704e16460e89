/**
 * The process's output budget over connections whose clients never read (connection.ts
 * budgetOutput), on sockets that keep everything written: past the budget the largest holders
 * over their share are closed until all together are back within it.
 */
import { describe, expect, it } from 'vitest';
import { H2TestHost, H2TestSocket } from '../../../test/helpers/h2-socket.js';
import { H2Connection, type ConnectionHost } from './connection.js';
import * as F from './frames.js';
import { H2_LIMIT_DEFAULTS } from './limits.js';

/** A socket whose client reads nothing: every byte written stays unsent; end() leaves it open. */
class UnreadSocket extends H2TestSocket {
  write(b: Buffer): boolean {
    if (!this.destroyed) this.writableLength += b.length;
    return true;
  }
  override end(): void {}
  override destroySoon(): void {}
}

const BUDGET = 3000;

class Host extends H2TestHost implements ConnectionHost {
  readonly methods = new Map();
  readonly limits = { ...H2_LIMIT_DEFAULTS, maxControlFramesPerSecond: 1e9, connectionOutputBytes: 1 << 30, outputBudgetBytes: BUDGET };
  run(): void {}
  closed(c: H2Connection): void {
    this.connections.delete(c);
  }
}

const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const PING = Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
const pings = (n: number) => Buffer.concat(Array.from({ length: n }, () => PING));

function open(host: Host): UnreadSocket {
  const socket = new UnreadSocket();
  host.connections.add(new H2Connection(socket as never, host));
  socket.emit('data', Buffer.concat([F.PREFACE, SETTINGS]));
  return socket;
}

describe('the output budget over clients that never read', () => {
  it('closes the largest holder over its share first, and no more than brings all back within the budget', () => {
    const host = new Host();
    const [a, b, c] = [open(host), open(host), open(host)]; // share: 1000 bytes each
    a.emit('data', pings(60)); // ~1100 bytes: over its share, the total within the budget
    b.emit('data', pings(95)); // ~1700 bytes
    expect([a.destroyed, b.destroyed, host.unsent]).toEqual([false, false, a.writableLength + b.writableLength + c.writableLength]);
    expect(host.unsent).toBeLessThanOrEqual(BUDGET);
    // The peak (ascend_grpc_unsent_output_peak_bytes' source) follows the total up.
    expect(host.stats.unsentPeak).toBe(host.unsent);
    c.emit('data', pings(20)); // within its share, but the process passes the budget
    expect([a.destroyed, b.destroyed, c.destroyed]).toEqual([false, true, false]);
    expect(host.unsent).toBeLessThanOrEqual(BUDGET);
    expect(host.stats.outputClosed).toBe(1);
    // ... past the budget before the shed brought it back, and it does not come down with it.
    expect(host.stats.unsentPeak).toBeGreaterThan(BUDGET);
  });

  it('sets aside a closed connection still holding output, and closes the next largest', () => {
    const host = new Host();
    const [a, b, c] = [open(host), open(host), open(host)];
    a.emit('data', pings(60));
    b.emit('data', pings(95));
    // b breaks the protocol: closed, its output held until its socket goes.
    b.emit('data', Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8])); // PING on a stream
    c.emit('data', pings(20));
    expect([a.destroyed, c.destroyed]).toEqual([true, false]);
  });
});
