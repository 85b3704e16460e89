#!/usr/bin/env node
// The h2 transport's output budget (src/grpc/h2/connection.ts budgetOutput) with many clients
// that never read, in one process on sockets that keep every byte written (no network): N − 2
// connections each holding 1,000 bytes, just under their share of the budget (1,000.5 bytes);
// per round one connection fills past its share while the total stays within the budget, and
// another, within its share, then writes past the budget. Printed: the wall time of that one
// flush (which must close the connection over its share), median and mean over the rounds, for
// each N. Needs `npm run build`; `--dist DIR` runs another build (e.g. `cp -r dist dist-base`
// before a change).
//
//   taskset -c 1 node bench/micro/output-budget.mjs [--dist dist] [--n 1000,5000,20000] [--rounds 300]
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({ options: {
  dist: { type: 'string', default: 'dist' }, n: { type: 'string', default: '1000,5000,20000' }, rounds: { type: 'string', default: '300' },
} });
const dist = (p) => import(pathToFileURL(path.resolve(values.dist, p)).href);
const { H2Connection } = await dist('grpc/h2/connection.js');
const F = await dist('grpc/h2/frames.js');
const { H2_LIMIT_DEFAULTS } = await dist('grpc/h2/limits.js');
const heap = await dist('grpc/h2/output-heap.js').catch(() => undefined); // absent before the heap

class UnreadSocket extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  get writable() { return !this.destroyed; }
  setNoDelay() {}
  setTimeout() {}
  pause() {}
  resume() {}
  end() {}
  destroySoon() {}
  write(b) { if (!this.destroyed) this.writableLength += b.length; return true; }
  destroy() { if (!this.destroyed) { this.destroyed = true; this.emit('close'); } }
}

const PING = Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
// 49 bytes at the handshake + 3 PING ACKs + 100 SETTINGS ACKs = 1,000 bytes.
const FILL = Buffer.concat([PING, PING, PING, ...Array.from({ length: 100 }, () => SETTINGS)]);

function run(n, rounds) {
  const budget = n * 1000 + n / 2;
  const host = {
    methods: new Map(), maxReceiveBytes: 4096, logger: undefined, maxBufferedBytes: 1 << 20, idleTimeoutMs: 60_000,
    limits: { ...H2_LIMIT_DEFAULTS, maxControlFramesPerSecond: 1e9, connectionOutputBytes: 1 << 30, outputBudgetBytes: budget },
    stats: { idleStreamResets: 0, outputClosed: 0, controlFloods: 0, unsentPeak: 0 },
    buffered: 0, unsent: 0, holders: heap === undefined ? undefined : new heap.OutputHeap(), connections: new Set(),
    arriving() {}, arrived() {}, run() {}, closed(c) { this.connections.delete(c); },
  };
  const open = () => {
    const s = new UnreadSocket();
    host.connections.add(new H2Connection(s, host));
    s.emit('data', Buffer.concat([F.PREFACE, SETTINGS]));
    return s;
  };
  for (let i = 0; i < n - 2; i++) open().emit('data', FILL);
  const times = [];
  for (let k = 0; k < rounds; k++) {
    const over = open();
    const trigger = open();
    while (host.unsent + 17 <= budget - 600) over.emit('data', PING);
    while (host.unsent + 17 <= budget) trigger.emit('data', PING);
    const t = process.hrtime.bigint();
    trigger.emit('data', PING);
    times.push(Number(process.hrtime.bigint() - t) / 1000);
    if (!over.destroyed || trigger.destroyed) throw new Error('the flush did not close the connection over its share');
    trigger.destroy();
    over.destroy();
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`N=${n}: median ${times[times.length >> 1].toFixed(1)} µs, mean ${mean.toFixed(1)} µs per over-budget flush (${rounds} rounds, ${values.dist})`);
}

for (const n of values.n.split(',').map(Number)) run(n, Number(values.rounds));
