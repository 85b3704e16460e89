#!/usr/bin/env node
// What tracing costs a whole cached check (normalize → map → cache hit → metrics, no log
// sink), in one process: CPU time per check, the minimum over interleaved rounds.
// Two modes, in separate processes: pipelines that trace make the shared code's call sites
// polymorphic, which would slow an untraced pipeline measured beside them.
//   off mode:  off, off-again   tracing.enabled false (the default), twice: the noise (A/A)
//              before           (BENCH_BEFORE_DIST) the same pipeline from a build without the
//                               tracing code, so off/before is what "off" costs
//   on mode:   off              as above, beside:
//              on-unsampled     tracing on, sample_ratio 0: a non-recording span per check
//              on-sampled       every check a span exported over OTLP/HTTP to a local receiver
//                               that discards them (BatchSpanProcessor: at most 2,048 waiting,
//                               the rest dropped, as in production), its trace id an exemplar
// Run after `npm run build`: node bench/tracing-ab.mjs off|on [rounds]   (taskset -c 1 steadies it)
// A build without tracing: git archive <commit> src tsconfig.json tsconfig.build.json | tar -x -C /tmp/before
//   && ln -s $PWD/node_modules /tmp/before/ && (cd /tmp/before && npx tsc -p tsconfig.build.json)
//   then BENCH_BEFORE_DIST=/tmp/before/dist node bench/tracing-ab.mjs
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { runtimeFromText } from '../dist/config/runtime.js';
import { Metrics } from '../dist/observability/metrics.js';
import { createTracing } from '../dist/observability/tracing.js';
import { CheckPipeline } from '../dist/pipeline/check.js';
import { RuntimeState } from '../dist/pipeline/state.js';

const text = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const logger = pino({ level: 'silent' });
const sink = createServer((req, res) => req.resume().on('end', () => res.end('{}')));
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const endpoint = `http://127.0.0.1:${sink.address().port}/v1/traces`;

async function pipeline(dist, tracing) {
  const [{ runtimeFromText: rtf }, { Metrics: M }, { CheckPipeline: P }, { RuntimeState: S }] = dist === undefined
    ? [{ runtimeFromText }, { Metrics }, { CheckPipeline }, { RuntimeState }]
    : await Promise.all(['config/runtime.js', 'observability/metrics.js', 'pipeline/check.js', 'pipeline/state.js'].map((f) => import(`${dist}/${f}`)));
  const rt = rtf(text, 'quickstart', 1);
  const metrics = new M(new Registry(), () => 0, { defaultMetrics: false });
  return new P({ state: new S(rt), metrics, sinks: [], logger, ...(tracing === undefined ? {} : { tracing }) });
}
const tracingOf = (ratio) => createTracing({ enabled: true, endpoint, service_name: 'bench', sample_ratio: ratio, headers: {}, export_timeout_ms: 10_000, batch_delay_ms: 200 }, {}, logger);
const req = { adapter: 'envoy', method: 'GET', target: '/v1/orders/1', host: 'api.internal', headers: { 'x-agent-id': 'crawler', ':path': '/v1/orders/1' } };
const mode = process.argv[2] ?? 'off';
const variants = [['off', await pipeline(undefined, undefined)]];
if (mode === 'off') {
  variants.push(['off-again', await pipeline(undefined, undefined)]);
  if (process.env.BENCH_BEFORE_DIST) variants.push(['before', await pipeline(process.env.BENCH_BEFORE_DIST, undefined)]);
} else {
  variants.push(['on-unsampled', await pipeline(undefined, tracingOf(0))], ['on-sampled', await pipeline(undefined, tracingOf(1))]);
}

const N = 20_000;
const rounds = Number(process.argv[3] ?? 40);
const best = new Map();
for (let r = 0; r < rounds; r++) {
  for (let j = 0; j < variants.length; j++) {
    const [name, p] = variants[(j + r) % variants.length];
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) p.check(req);
    const c = process.cpuUsage(c0);
    best.set(name, Math.min(best.get(name) ?? Infinity, ((c.user + c.system) * 1000) / N));
    // Let the batch exporter run between rounds, as the event loop would between requests.
    await new Promise((res) => setImmediate(res));
  }
}
const ratio = (a, b) => (best.get(a) / best.get(b)).toFixed(3);
console.log([...best].map(([k, v]) => `${k} ${v.toFixed(0)} ns/check`).join(' | '));
if (mode === 'off') console.log(`A/A ${ratio('off-again', 'off')}${best.has('before') ? `  off/before ${ratio('off', 'before')}` : ''}`);
else console.log(`on-unsampled/off ${ratio('on-unsampled', 'off')}  on-sampled/off ${ratio('on-sampled', 'off')}`);
sink.close();
process.exit(0);
