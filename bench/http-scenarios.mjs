// HTTP adapter scenarios (bench/http.mjs): the sidecar's Kong and forward-auth endpoints against
// a bare fastify handler, driven by wrk. Same A/B method as the gRPC suite.
//
// The request bodies: the Kong body is exactly what our Kong plugin sends (the shared fixture
// test/fixtures/kong/plugin-requests.json, case refund-small-by-header-agent); the Kong OPA body
// is the `input` Kong Enterprise's opa plugin sends (protocols.md); forward-auth carries nginx
// auth_request's X-Original-* headers. The probe skips a scenario with the adapter's answer when
// it does not allow the request.
import { readFileSync } from 'node:fs';
import { sidecarArgv } from './lib/servers.mjs';

const FIXTURE = JSON.parse(readFileSync(new URL('../test/fixtures/kong/plugin-requests.json', import.meta.url), 'utf8'));
const KONG_PLUGIN_BODY = FIXTURE.find((c) => c.name === 'refund-small-by-header-agent').expected_request;

const NODE = process.execPath;
const AGENT = { 'x-agent-id': 'billing-agent', 'user-agent': 'agent-sdk/1.4', 'x-request-id': '0c5e0d2e-6b1f-4f3e-9d5a-2f0c8a1b7e42' };

export const REQUESTS = {
  kong: {
    method: 'POST',
    path: '/kong/v1/authorize',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(KONG_PLUGIN_BODY),
  },
  kongOpa: {
    method: 'POST',
    path: '/v1/data/ascend/allow',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: {
      request: { http: { method: 'POST', scheme: 'http', host: 'payments.internal', port: 8000, path: '/v1/refunds/r-1',
        headers: { ...AGENT, 'content-type': 'application/json' }, querystring: { amount: '50' } } },
      client_ip: '10.1.0.7',
    } }),
  },
  submit: {
    method: 'POST',
    path: '/api/v1/actions/submit',
    headers: { 'content-type': 'application/json', 'x-api-key': 'agent-bench-key' },
    // What the ASCEND SDK's evaluate_action sends (docs/sdk.md): the same small refund.
    body: JSON.stringify({
      agent_id: 'billing-agent', agent_name: 'Billing agent', action_type: 'payments.refund', resource: 'refund/r-1',
      action_details: { amount: 50 }, context: { environment: 'production' },
    }),
  },
  forwardAuth: {
    method: 'GET',
    path: '/forward-auth',
    headers: { ...AGENT, 'x-original-uri': '/v1/refunds/r-1?amount=50', 'x-original-method': 'POST', 'x-forwarded-host': 'payments.internal' },
  },
};

/** OPA's own REST server, when BENCH_OPA names an `opa` binary (none is installed here). */
const OPA = process.env.BENCH_OPA;

export function httpServers() {
  const fastifyBare = { argv: () => [NODE, 'bench/baseline/fastify-bare.mjs', '--port', '{httpPort}'], ready: 'readyz', constant: true };
  const sidecar = (file) => ({ argv: sidecarArgv, config: { file }, ready: 'sidecar', requires: 'sidecar', metrics: true });
  return {
    'fastify-bare': fastifyBare,
    'fastify-bare-2': fastifyBare,
    'sidecar-core': sidecar('bench/configs/core.yaml'),
    'sidecar-core-fastify': sidecar('bench/configs/core-fastify.yaml'),
    'sidecar-core-api': sidecar('bench/configs/core-api.yaml'),
    'sidecar-core-node-http': sidecar('bench/configs/core-node-http.yaml'),
    opa: {
      argv: () => [OPA, 'run', '--server', '--addr', '127.0.0.1:{httpPort}', '--log-level', 'error', 'bench/baseline/kong-opa.rego'],
      ready: 'opa',
      skip: () => (OPA ? undefined : 'no OPA here: set BENCH_OPA=/path/to/opa (OPA v0.59+ or v1) to compare with OPA\'s REST server'),
    },
  };
}

const BARE = { server: 'fastify-bare', driver: 'wrk' };
const SIDECAR = { server: 'sidecar-core', driver: 'wrk' };
// The serial rows compare p99s: h2load --h1 keeps each request's own time, where wrk adds
// synthetic samples for every stall (bench/lib/h2load.mjs, runH2loadH1).
const BARE_SERIAL = { server: 'fastify-bare', driver: 'h2load-h1' };
const SIDECAR_SERIAL = { server: 'sidecar-core', driver: 'h2load-h1' };

export function httpScenarios() {
  const kong = { kind: 'http', request: REQUESTS.kong };
  const kongOpa = { kind: 'http', request: REQUESTS.kongOpa };
  const fwd = { kind: 'http', request: REQUESTS.forwardAuth };
  const submit = { kind: 'http', request: REQUESTS.submit };
  return [
    { name: 'http-selfcheck', title: 'fastify-bare vs a 2nd fastify-bare, Kong body: the method\'s noise', short: true,
      ...kong, a: BARE, b: { server: 'fastify-bare-2', driver: 'wrk' }, mode: 'http', ratio: 'rps' },
    { name: 'kong-allow', title: 'POST /kong/v1/authorize (allow), 64 connections', short: true, ...kong, a: BARE, b: SIDECAR, mode: 'http', ratio: 'rps' },
    { name: 'kong-opa-allow', short: true, title: 'POST /v1/data/ascend/allow (Kong Enterprise opa plugin input, allow), 64 connections', ...kongOpa, a: BARE, b: SIDECAR, mode: 'http', ratio: 'rps' },
    { name: 'kong-opa-vs-opa', title: 'POST /v1/data/ascend/allow: OPA\'s REST server (A) vs the sidecar (B), same Kong opa input, equivalent policy', ...kongOpa,
      a: { server: 'opa', driver: 'wrk' }, b: SIDECAR, mode: 'http', ratio: 'rps' },
    { name: 'submit-allow', title: 'POST /api/v1/actions/submit (agent key, the SDK\'s evaluate_action), 64 connections', ...submit,
      a: BARE, b: { server: 'sidecar-core-api', driver: 'wrk' }, mode: 'http', ratio: 'rps' },
    { name: 'kong-fast-path', title: 'POST /kong/v1/authorize: through fastify (A, http_fast_path: false) vs the fast path (B)', ...kong,
      a: { server: 'sidecar-core-fastify', driver: 'wrk' }, b: SIDECAR, mode: 'http', ratio: 'rps' },
    { name: 'kong-h1', title: 'POST /kong/v1/authorize: fast path on node:http (A, http_transport: node) vs our HTTP/1.1 server (B)', ...kong,
      a: { server: 'sidecar-core-node-http', driver: 'wrk' }, b: SIDECAR, mode: 'http', ratio: 'rps' },
    { name: 'forward-auth-h1', title: 'GET /forward-auth: fast path on node:http (A, http_transport: node) vs our HTTP/1.1 server (B)', ...fwd,
      a: { server: 'sidecar-core-node-http', driver: 'wrk' }, b: SIDECAR, mode: 'http', ratio: 'rps' },
    { name: 'forward-auth-allow', title: 'GET /forward-auth (allow), 64 connections', short: true, ...fwd, a: BARE, b: SIDECAR, mode: 'http', ratio: 'rps' },
    { name: 'kong-opa-serial', title: 'POST /v1/data/ascend/allow, serial (p99 ratio)', ...kongOpa, a: BARE_SERIAL, b: SIDECAR_SERIAL, mode: 'serial', ratio: 'p99' },
    { name: 'kong-serial', title: 'POST /kong/v1/authorize, serial (p99 ratio)', ...kong, a: BARE_SERIAL, b: SIDECAR_SERIAL, mode: 'serial', ratio: 'p99' },
    { name: 'forward-auth-serial', title: 'GET /forward-auth, serial (p99 ratio)', ...fwd, a: BARE_SERIAL, b: SIDECAR_SERIAL, mode: 'serial', ratio: 'p99' },
  ];
}
