/**
 * The ambient things modules must not reach for directly — clock, timers, randomness, logging —
 * as small injectable types with real defaults. Tests swap them (vitest fake timers work through
 * the defaults too, because they look the globals up at call time).
 */

/** Milliseconds since the epoch. */
export type Clock = () => number;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = () => Date.now();

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The subset of pino's API these modules log through (pino loggers satisfy it). */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** setTimeout's delay is a signed 32-bit int; longer waits fire at once, so clamp them. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
