#!/usr/bin/env node
// parseHead (src/http/h1-head.ts) alone on the heads wrk sends for forward-auth (seven headers)
// and Kong (three), in CPU ns per call (process.cpuUsage), 9 rounds of 3×10⁵ calls.
// Given two builds (e.g. a copy of dist made before a change), both run in this one process,
// rounds alternating, and the median ratio of paired rounds is printed. Needs `npm run build`.
//
//   taskset -c 1 node bench/micro/h1-head.mjs dist [dist-base]
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push('dist');
const mods = await Promise.all(dirs.map((d) => import(pathToFileURL(path.resolve(d, 'http/h1-head.js')).href)));
const HEADS = {
  'forward-auth': Buffer.from('GET /forward-auth HTTP/1.1\r\nHost: 127.0.0.1:8181\r\nx-agent-id: billing-agent\r\nuser-agent: agent-sdk/1.4\r\nx-request-id: 0c5e0d2e-6b1f-4f3e-9d5a-2f0c8a1b7e42\r\nx-original-uri: /v1/refunds/r-1?amount=50\r\nx-original-method: POST\r\nx-forwarded-host: payments.internal\r\n\r\n'),
  kong: Buffer.from('POST /kong/v1/authorize HTTP/1.1\r\nHost: 127.0.0.1:8181\r\nContent-Length: 420\r\ncontent-type: application/json\r\n\r\n'),
};
const limits = { maxHeaderBytes: 16384, maxHeaders: 100, methods: new Set(['GET', 'POST']) };
const N = 300000;
const res = dirs.map(() => Object.fromEntries(Object.keys(HEADS).map((k) => [k, []])));
for (let r = 0; r < 9; r++) {
  mods.forEach((m, j) => {
    for (const [name, buf] of Object.entries(HEADS)) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) if (typeof m.parseHead(buf, 0, buf.length, limits) !== 'object') throw new Error(`${name}: not parsed`);
      const c = process.cpuUsage(c0);
      res[j][name].push(((c.user + c.system) * 1000) / N);
    }
  });
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const name of Object.keys(HEADS)) {
  const line = dirs.map((d, j) => `${d} ${median(res[j][name]).toFixed(0)} ns`);
  if (dirs.length === 2) line.push(`ratio ${median(res[0][name].map((x, k) => x / res[1][name][k])).toFixed(3)}`);
  console.log(`${name.padEnd(13)} ${line.join(', ')}`);
}
