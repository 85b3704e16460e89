#!/usr/bin/env node
// The HTTP baseline: bare fastify answering 200 with a couple of headers and a constant ~200-byte
// JSON on the paths the sidecar's HTTP endpoints serve (POST /kong/v1/authorize, POST /v1/data/*
// and POST /api/v1/actions/submit with a JSON body — parsed, as fastify always does — and GET
// /forward-auth), plus /readyz so the harness probes it like the sidecar.
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
// A constant answer about the size of the sidecar's (~200 bytes of JSON): the baseline does the
// HTTP and JSON work any endpoint must do, and none of the deciding.
const ANSWER = {
  allow: true, status: 200, decision: 'allowed', action_id: '00000000-0000-4000-8000-000000000000', risk_score: 0,
  reason: 'allowed by policy "constant"', policy_id: 'pol_constant',
};
const constant = async (_req, reply) => {
  reply.headers(ALLOWED);
  return ANSWER;
};

app.post('/kong/v1/authorize', constant);
app.post('/v1/data/*', constant);
app.get('/forward-auth', constant);
app.post('/api/v1/actions/submit', constant);
app.get('/readyz', async () => 'ok');
const address = await app.listen({ port: Number(values.port), host: values.host });
console.log(JSON.stringify({ level: 'info', msg: 'fastify-bare listening', http_port: app.server.address().port,
  address, pid: process.pid }));

const stop = () => app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
