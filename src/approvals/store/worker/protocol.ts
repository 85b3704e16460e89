/**
 * What the calling thread (WorkerStore) and the store worker (host.ts) say to each other over
 * the worker's MessagePort. Arguments and results are the store's plain records, which the
 * structured clone copies as they are (undefined members, nested objects and arrays included).
 * Errors are not: the clone keeps only an Error's name, message and stack, and makes every one a
 * plain Error, so they travel as {@link WireError} and are rebuilt with the class and `code`
 * callers test for (`instanceof StoreError`, `code === 'invalid_cursor'`, `SQLITE_BUSY`).
 */
import { StoreError, type StoreErrorCode } from '../errors.js';
import type { Store } from '../store.js';

export type StoreMethod = Exclude<keyof Store, 'close'>;

/** Calling thread → worker. `close` checkpoints, closes the database and ends the worker. */
export interface CallMessage {
  readonly id: number;
  readonly method: StoreMethod | 'close';
  readonly args: readonly unknown[];
}

/** Worker → calling thread: first `ready` (or `open_failed`), then one reply per call. */
export type HostMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'open_failed'; readonly error: WireError }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError };

export interface WireError {
  /** 'store': a StoreError (code is a StoreErrorCode); 'builtin': Error, TypeError, RangeError…; 'other'. */
  readonly kind: 'store' | 'builtin' | 'other';
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

const BUILTIN: Readonly<Record<string, ErrorConstructor>> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

export function toWire(e: unknown): WireError {
  if (!(e instanceof Error)) return { kind: 'other', name: 'Error', message: String(e) };
  const code = (e as { code?: unknown }).code;
  const kind = e instanceof StoreError ? 'store' : BUILTIN[e.name] === e.constructor ? 'builtin' : 'other';
  return { kind, name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}), ...(e.stack ? { stack: e.stack } : {}) };
}

/** The error as the worker threw it: same class for StoreError and builtins, else name and code kept. */
export function fromWire(w: WireError): Error {
  let e: Error;
  if (w.kind === 'store') e = new StoreError(w.code as StoreErrorCode, w.message);
  else if (w.kind === 'builtin') e = new (BUILTIN[w.name] ?? Error)(w.message);
  else {
    e = new Error(w.message);
    e.name = w.name; // e.g. SqliteError
  }
  if (w.code !== undefined && w.kind !== 'store') Object.assign(e, { code: w.code });
  // The worker's stack says where it failed; this thread's would only say "a message arrived".
  if (w.stack !== undefined) e.stack = `${w.stack}\n    at <store worker thread>`;
  return e;
}
