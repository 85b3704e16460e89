#!/usr/bin/env node
// What the decision log's redaction costs a whole check: the same cached Envoy-style check
// (normalize → map → cache hit → one decision-log line into a chunk written to /dev/null) with
// the redaction replaced by the identity (A, "before"), twice (A/A: the method's noise), with it
// (B) and with a target whose query does hold a listed key (masked). CPU time per check, the
// minimum over interleaved rounds, so other processes on a shared machine matter less.
// Run after `npm run build`: node bench/decision-log-ab.mjs [rounds]   (taskset -c 1 steadies it)
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { runtimeFromText } from '../dist/config/runtime.js';
import { DecisionLog } from '../dist/observability/decision-log.js';
import { FdDestination } from '../dist/observability/fd-destination.js';
import { Metrics } from '../dist/observability/metrics.js';
import { CheckPipeline } from '../dist/pipeline/check.js';
import { RuntimeState } from '../dist/pipeline/state.js';

const rt = runtimeFromText(readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8'), 'quickstart', 1);
const identity = { target: (t) => t, requestTarget: (t) => t, headers: (h) => h };
function pipeline(redaction) {
  const log = new DecisionLog(new FdDestination('/dev/null'), { enabled: true, includeHeaders: false, batch: true, redaction: () => redaction });
  const metrics = new Metrics(new Registry(), () => 0, { defaultMetrics: false });
  return new CheckPipeline({ state: new RuntimeState(rt), metrics, sinks: [log], logger: pino({ level: 'silent' }) });
}
const raw = (target) => ({ adapter: 'envoy', method: 'GET', target, host: 'api.internal', headers: { 'x-agent-id': 'crawler', ':path': target } });
const plain = raw('/v1/orders/1?page=2&sort=desc');
const variants = [
  ['before', pipeline(identity), plain],
  ['before-again', pipeline(identity), plain],
  ['after', pipeline(rt.redaction), plain],
  ['masked', pipeline(rt.redaction), raw('/v1/orders/1?page=2&access_token=abc')],
];
const N = 20_000;
const rounds = Number(process.argv[2] ?? 60);
const best = new Map();
for (let r = 0; r < rounds; r++) {
  for (let j = 0; j < variants.length; j++) {
    const [name, p, req] = variants[(j + r) % variants.length];
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) p.check(req);
    const c = process.cpuUsage(c0);
    best.set(name, Math.min(best.get(name) ?? Infinity, ((c.user + c.system) * 1000) / N));
  }
}
const ratio = (a, b) => (best.get(a) / best.get(b)).toFixed(3);
console.log([...best].map(([k, v]) => `${k} ${v.toFixed(0)} ns/check`).join(' | '));
console.log(`A/A ${ratio('before-again', 'before')}  after/before ${ratio('after', 'before')}  masked/before ${ratio('masked', 'before')}`);
