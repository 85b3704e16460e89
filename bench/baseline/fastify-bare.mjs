#!/usr/bin/env node
// The HTTP baseline: bare fastify answering 200 with a couple of headers on the two paths the
// sidecar's HTTP adapters serve (POST /kong/v1/authorize with a JSON body — parsed, as fastify
// always does — and GET /forward-auth), plus /readyz so the harness probes it like the sidecar.
// No logger, no hooks: what any fastify app pays per request and nothing more.
//
//   node bench/baseline/fastify-bare.mjs --port 8181    (0 = pick a free port; logged as JSON)
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const { values } = parseArgs({ options: {
  port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' },
} });

const app = Fastify({ logger: false });
const ALLOWED = { 'x-ascend-decision': 'allowed', 'x-ascend-risk-score': '0' };

app.post('/kong/v1/authorize', async (_req, reply) => {
  reply.headers(ALLOWED);
  return { result: true };
});
app.get('/forward-auth', async (_req, reply) => {
  reply.headers(ALLOWED).code(200);
  return '';
});
app.get('/readyz', async () => 'ok');

const address = await app.listen({ port: Number(values.port), host: values.host });
console.log(JSON.stringify({ level: 'info', msg: 'fastify-bare listening', http_port: app.server.address().port,
  address, pid: process.pid }));

const stop = () => app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
