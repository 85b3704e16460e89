// Shared command line for bench/run.mjs (gRPC) and bench/http.mjs (HTTP adapters): pick
// scenarios, run the A/B pairs, print the table, write the JSON, optionally the README section.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { REPO } from './protos.mjs';
import { runScenarios } from './engine.mjs';
import { machineInfo, machineLine, markdownTable, writeReadmeSection } from './report.mjs';

export const RESULTS_DIR = path.join(REPO, 'bench/results');

// Short: what `npm run bench` does in < 3 minutes. Full: more pairs, longer runs, every scenario.
// restart: fresh server processes for every pair. Two processes of the same server differ by up
// to 30–50 % in CPU per request for their whole life (V8 GC state: measured here, instances whose
// window held mark-compacts and 30 ms scavenges ran at ~70 µs/req, others at ~45), so a fair
// median samples several processes, not several runs of one.
// settleS: each measured run loads its own connections this long before counting (measure.mjs).
// A pair is "disturbed" when anything else took more than maxForeign of the server core; up to
// `retries` extra pairs replace disturbed ones while the run is within budgetS.
const TIMING = {
  short: { pairs: 3, durationS: 2, warmS: 0.5, settleS: 0.5, firstWarmS: 1.5, retries: 2, maxForeign: 0.1, restart: true, budgetS: 150 },
  full: { pairs: 7, durationS: 4, warmS: 0.5, settleS: 1, firstWarmS: 3, retries: 5, maxForeign: 0.1, restart: true },
};

export const USAGE = `options:
  --full              every scenario, 7 pairs of 4 s (default: the short set, 3 pairs of 2 s)
  --only a,b*         only these scenarios (exact names; a trailing * matches a prefix), short or not
  --pairs N           A/B pairs per scenario          --duration S   measured seconds per run
  --warmup S          warm-up seconds before each run, and of each new process's first run
  --settle S          seconds each measured run loads its own connections before counting (0.5; 1 with --full)
  --no-restart        keep server processes across pairs (faster; then process-to-process variance is not sampled)
  --retries N         extra pairs allowed to replace disturbed ones   --max-foreign F  disturbed above this share (0.1)
  --cache-off MODE    how generated configs disable the cache: disabled ({enabled: false}, default) | ttl0 ({ttl_ms: 0})
  --write-readme      replace the generated results section of bench/README.md
  --list              list scenarios and exit`;

export function parseSuiteArgs(argv = process.argv.slice(2)) {
  const { values } = parseArgs({ args: argv, options: {
    full: { type: 'boolean', default: false }, only: { type: 'string' }, pairs: { type: 'string' },
    duration: { type: 'string' }, warmup: { type: 'string' }, settle: { type: 'string' }, retries: { type: 'string' }, 'max-foreign': { type: 'string' },
    'no-restart': { type: 'boolean' }, 'cache-off': { type: 'string', default: 'disabled' },
    'write-readme': { type: 'boolean', default: false }, list: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
  } });
  if (!['disabled', 'ttl0'].includes(values['cache-off'])) throw new Error('--cache-off must be disabled or ttl0');
  const timing = { ...TIMING[values.full ? 'full' : 'short'] };
  if (values.pairs) timing.pairs = Number(values.pairs);
  if (values.duration) timing.durationS = Number(values.duration);
  // --warmup also lengthens the first warm-up of a new process (which replaces warmS when it ran
  // the very load measured): the sidecar's JIT takes seconds of load to reach steady state.
  if (values.warmup) timing.warmS = timing.firstWarmS = Math.max(Number(values.warmup), 0);
  if (values.settle) timing.settleS = Number(values.settle);
  if (values.retries) timing.retries = Number(values.retries);
  if (values['max-foreign']) timing.maxForeign = Number(values['max-foreign']);
  if (values['no-restart']) timing.restart = false;
  return { ...values, timing };
}

export function select(all, { full, only }) {
  if (!only) return all.filter((s) => full || s.short);
  const wanted = only.split(',').map((s) => s.trim()).filter(Boolean);
  const picked = all.filter((s) => wanted.some((w) => (w.endsWith('*') ? s.name.startsWith(w.slice(0, -1)) : s.name === w)));
  if (!picked.length) throw new Error(`--only ${only} matches no scenario (${all.map((s) => s.name).join(', ')})`);
  return picked;
}

/** Run a suite end to end. */
export async function runSuite({ suite, scenarios, servers, opts, readmeSection }) {
  if (opts.help) { console.log(USAGE); return; }
  const chosen = select(scenarios, opts);
  if (opts.list) { for (const s of scenarios) console.log(`${s.short ? '*' : ' '} ${s.name.padEnd(26)} ${s.title}`); return; }
  const machine = machineInfo();
  console.error(`[bench] ${suite}: ${chosen.length} scenarios × ${opts.timing.pairs} pairs; ${machineLine(machine)}`);
  const t0 = performance.now();
  const results = await runScenarios({ scenarios: chosen, servers, timing: opts.timing, outDir: RESULTS_DIR });
  const seconds = (performance.now() - t0) / 1000;
  const table = markdownTable(results);
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  console.log(`\n${suite} — ${when}, ${opts.timing.pairs} pairs × ${opts.timing.durationS} s (after ${opts.timing.settleS ?? 0} s settling), took ${seconds.toFixed(0)} s\n${machineLine(machine)}\n\n${table}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const out = path.join(RESULTS_DIR, suite === 'grpc' ? 'latest.json' : `${suite}.json`);
  writeFileSync(out, `${JSON.stringify({ suite, when, seconds, machine, timing: opts.timing, cacheOff: opts['cache-off'], results }, null, 1)}\n`);
  console.error(`[bench] wrote ${path.relative(REPO, out)}`);
  if (opts['write-readme']) {
    writeReadmeSection(readmeSection, `_Generated by \`${suite === 'grpc' ? 'npm run bench' : 'node bench/http.mjs'}\` on ${when} ` +
      `(commit ${machine.commit}; ${opts.timing.pairs} pairs × ${opts.timing.durationS} s after ${opts.timing.settleS ?? 0} s settling, run took ${seconds.toFixed(0)} s)._\n` +
      `_Machine: ${machineLine(machine)}._\n\n${table}`);
    console.error('[bench] updated bench/README.md');
  }
  return results;
}
