/**
 * One submit request on the control plane's undici Pool, through `dispatch` with a handler of
 * our own rather than `pool.request()`: no Readable stream, async resource or AbortController
 * per call, and the two response headers the edge reads picked from the raw list instead of a
 * parsed header object (bench/micro/remote-miss.mjs measures what that saves). The promise never
 * rejects: a refused, reset or timed-out exchange resolves with its outcome.
 */
import type { Dispatcher } from 'undici';
import { FACTS_HEADER } from './request-facts.js';

export interface Exchanged {
  /** ok: an HTTP answer came (any status); else why none did. */
  readonly outcome: 'ok' | 'timeout' | 'error';
  readonly status: number;
  readonly text: string;
  readonly cacheControl: string | undefined;
  readonly facts: string | undefined;
}

const CACHE_CONTROL = 'cache-control';
const TIMEOUT = new Error('the control plane did not answer within the call budget');

/** undici's legacy handler interface (onConnect … onComplete): dispatched without a wrapper. */
class Exchange implements Exchanged {
  outcome: Exchanged['outcome'] = 'ok';
  status = 0;
  text = '';
  cacheControl: string | undefined;
  facts: string | undefined;
  private chunks: Buffer[] = [];
  private abort: ((err: Error) => void) | undefined;
  private done = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly resolve: (x: Exchanged) => void, timeoutMs: number) {
    this.timer = setTimeout(onTimeout, Math.max(1, timeoutMs), this);
  }

  timedOut(): void {
    this.finish('timeout');
    this.abort?.(TIMEOUT);
  }

  onConnect(abort: (err: Error) => void): void {
    if (this.done) abort(TIMEOUT); // timed out while queued for a connection
    else this.abort = abort;
  }

  onHeaders(status: number, raw: Buffer[]): boolean {
    this.status = status;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i] as Buffer;
      if (name.length === CACHE_CONTROL.length && name.toString('latin1').toLowerCase() === CACHE_CONTROL) this.cacheControl = (raw[i + 1] as Buffer).toString('latin1');
      else if (name.length === FACTS_HEADER.length && name.toString('latin1').toLowerCase() === FACTS_HEADER) this.facts = (raw[i + 1] as Buffer).toString('latin1');
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    const c = this.chunks;
    this.text = c.length === 1 ? (c[0] as Buffer).toString('utf8') : Buffer.concat(c).toString('utf8');
    this.finish('ok');
  }

  onError(): void {
    this.finish('error');
  }

  private finish(outcome: Exchanged['outcome']): void {
    if (this.done) return;
    this.done = true;
    this.outcome = outcome;
    this.chunks = [];
    clearTimeout(this.timer);
    this.resolve(this);
  }
}

function onTimeout(x: Exchange): void {
  x.timedOut();
}

/** POST `body` to `path` on `pool`; resolves within `timeoutMs` whatever happens. */
export function exchange(pool: Dispatcher, path: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<Exchanged> {
  return new Promise((resolve) => {
    const x = new Exchange(resolve, timeoutMs);
    try {
      pool.dispatch({ path, method: 'POST', headers, body }, x as unknown as Dispatcher.DispatchHandler);
    } catch {
      x.onError();
    }
  });
}
