/**
 * What one client, or all of them together, may make the h2 transport hold or do. Defaults are
 * generous: far above what Envoy or any gRPC client needs, low enough that a flood of clients
 * that never read cannot grow the process without bound (test/h2-flood.test.ts).
 */
export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS per connection. */
  maxConcurrentStreams: number;
  /**
   * Unsent output (answers the client has not read) at which a connection stops being read;
   * at 4 times this it is closed with GOAWAY ENHANCE_YOUR_CALM.
   */
  connectionOutputBytes: number;
  /**
   * Unsent output of all connections together. Past it, a connection that holds more than its
   * share (this divided by the open connections) is closed with GOAWAY ENHANCE_YOUR_CALM.
   */
  outputBudgetBytes: number;
  /** PING and SETTINGS frames a connection may send per second; more close it (ENHANCE_YOUR_CALM). */
  maxControlFramesPerSecond: number;
  /**
   * A connection no longer read for its unsent output (connectionOutputBytes) whose client has
   * not read it all within this long is closed with GOAWAY ENHANCE_YOUR_CALM: a client that
   * stops reading and then stays silent does not hold its output until the idle timeout.
   */
  outputStallMs: number;
}

export const H2_LIMIT_DEFAULTS: Readonly<H2Limits> = Object.freeze({
  maxConcurrentStreams: 1000,
  connectionOutputBytes: 1024 * 1024,
  outputBudgetBytes: 64 * 1024 * 1024,
  maxControlFramesPerSecond: 1000,
  outputStallMs: 10_000,
});
