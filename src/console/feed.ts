/**
 * Live updates for the console (server-sent events): every open page holds one SSE stream, and
 * hears `approvals` whenever an approval is created, voted on, decided or its action completed,
 * and `decision` with every decision this process takes (the live decisions page).
 * Changes this process commits arrive at once (ActionWatch.subscribe); changes committed by
 * another process sharing the store (`serve --workers`, a fleet) are found by one cheap poll
 * every POLL_MS for all streams together, run only while a stream is open.
 */
import type { ServerResponse } from 'node:http';
import type { ApprovalsLayer } from '../approvals/layer.js';
import type { Timers } from '../shared/runtime.js';
import type { ConsoleDecisions } from './decisions.js';

const POLL_MS = 2000;
/** A comment line now and then keeps proxies from closing an idle stream. */
const KEEPALIVE_EVERY = 10;

export class ConsoleFeed {
  private readonly streams = new Set<ServerResponse>();
  private unsubscribe: (() => void) | undefined;
  private unsubscribeDecisions: (() => void) | undefined;
  private timer: unknown;
  private signature = '';
  private ticks = 0;

  constructor(private readonly layer: ApprovalsLayer, private readonly timers: Timers, private readonly decisions: ConsoleDecisions) {}

  /** Streams events to `res` until the client goes away. */
  attach(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    this.streams.add(res);
    res.on('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0) this.stop();
    });
    if (this.streams.size === 1) this.start();
  }

  /** Sends `event` with JSON `data` to every stream. */
  send(event: string, data: unknown): void {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const s of this.streams) s.write(text);
  }

  close(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.stop();
  }

  private start(): void {
    this.unsubscribe = this.layer.watch.subscribe((action_id) => this.send('approvals', { action_id }));
    this.unsubscribeDecisions = this.decisions.subscribe((e) => this.send('decision', e));
    this.schedule();
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.unsubscribeDecisions?.();
    this.unsubscribeDecisions = undefined;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.timers.setTimeout(() => { void this.poll(); }, POLL_MS);
  }

  private async poll(): Promise<void> {
    try {
      const [count, newest] = await Promise.all([
        this.layer.store.countApprovals('pending'),
        this.layer.store.listApprovals({ limit: 1, state: 'pending' }),
      ]);
      const sig = `${count}:${newest.items[0]?.approval_id ?? ''}`;
      if (this.signature !== '' && sig !== this.signature) this.send('approvals', {});
      this.signature = sig;
      if (++this.ticks % KEEPALIVE_EVERY === 0) for (const s of this.streams) s.write(': keepalive\n\n');
    } catch {
      // The store is down: the page keeps what it shows; the next poll tries again.
    }
    if (this.streams.size > 0) this.schedule();
  }
}
