#!/usr/bin/env node
// One decision-log line alone (DecisionLog.record of a forward-auth cached allow with a request
// id and a query, batched into chunks written to /dev/null), CPU ns per line. With two builds
// their rounds alternate in this one process and the median ratio of paired rounds is printed;
// run it both ways round (the build loaded second tends to measure a few % faster).
//
//   node bench/micro/decision-log-line.mjs dist [dist-base]     (taskset -c 1 steadies it)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push('dist');
const logs = [];
for (const d of dirs) {
  const at = (p) => pathToFileURL(path.resolve(d, p)).href;
  const { DecisionLog } = await import(at('observability/decision-log.js'));
  const { FdDestination } = await import(at('observability/fd-destination.js'));
  const { Redaction } = await import(at('observability/redact.js'));
  const redaction = new Redaction();
  logs.push(new DecisionLog(new FdDestination('/dev/null'), { enabled: true, includeHeaders: false, batch: true, redaction: () => redaction }));
}
const decision = { decision: 'allowed', code: 'policy_allow', policyId: 'pol_refund_small', riskScore: 35, reason: 'allowed by pol_refund_small', httpStatus: 200, flagged: false, failOpen: false };
const result = (i) => ({
  adapter: 'forward_auth', decision, actionId: `0c5e0d2e-6b1f-4f3e-9d5a-2f0c8a1b${String(i % 10000).padStart(4, '0')}`,
  approvalId: undefined, retryAfterSeconds: undefined,
  action: { agent_id: 'billing-agent', action_type: 'payments.refund', resource: 'refund/r-1', parameters: { amount: '50' }, context: {} },
  request: { method: 'POST', path: '/v1/refunds/r-1', rawTarget: '/v1/refunds/r-1?amount=50', query: { amount: '50' }, requestId: '0c5e0d2e-6b1f-4f3e-9d5a-2f0c8a1b7e42', headers: {} },
  route: 'refunds', cacheHit: true, latencyUs: 7.3 + (i % 50),
});
const results = Array.from({ length: 1000 }, (_, i) => result(i));
const n = 200_000;
const per = logs.map(() => []);
for (let k = 0; k < 11; k++) {
  logs.forEach((log, j) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) log.record(results[i % 1000]);
    const c = process.cpuUsage(c0);
    per[j].push(((c.user + c.system) * 1000) / n);
  });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
dirs.forEach((d, j) => console.log(`${d} ${median(per[j]).toFixed(0)} ns/line (rounds: ${per[j].map((x) => x.toFixed(0)).join(' ')})`));
if (dirs.length === 2) console.log(`ratio ${median(per[0].map((x, k) => x / per[1][k])).toFixed(3)} (${dirs[0]} ÷ ${dirs[1]})`);
