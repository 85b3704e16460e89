/**
 * The SDK's evaluate_action (`POST /api/v1/actions/submit`) on the listener's fast path
 * (src/api/fast-submit.ts) answers exactly as its fastify route does. Two sidecars from the same
 * config, one with `server.http_fast_path: false`, get the same requests in the same order over
 * real sockets — decisions, the route's own refusals, body errors, rate limits — and must answer
 * with the same status, headers and body (action ids aside), log the same refusals and count
 * the same metrics. The fast sidecar's own count shows which requests the fast path took and
 * which it left to fastify (no key, another role, a signing key, ...), so the comparison cannot
 * pass by both sides going through fastify.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fastRoutesOf } from '../src/http/fast-routes.js';
import { call, keyDigest, KEYS } from './helpers/api.js';
import { startApp, type LogLine, type TestApp } from './helpers/app.js';
import { expectSameAnswer, fastAndSlow } from './helpers/fast-path.js';
import { rawRequest } from './helpers/http.js';
import { tempDir } from './helpers/tmp.js';

const RATED = 'k-rated-agent-0001';
const SIGNER = 'k-signing-agent-0002';
const CONFIG = `${readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8')}
api_keys:
  - {name: ops, role: admin, sha256: "${keyDigest(KEYS.admin)}"}
  - {name: billing, role: agent, agent_id: billing-agent, sha256: "${keyDigest(KEYS.billing)}"}
  - {name: fred, role: approver, groups: [finance-manager], sha256: "${keyDigest(KEYS.finance)}"}
  - {name: edge, role: gateway, sha256: "${keyDigest(KEYS.gateway)}"}
  - {name: rated, role: agent, agent_id: billing-agent, sha256: "${keyDigest(RATED)}", rate_limit: {requests_per_second: 0.001, burst: 2}}
  - {name: signer, role: agent, agent_id: billing-agent, sha256: "${keyDigest(SIGNER)}", signing_secret: "s3cret"}
`;

const PATH = '/api/v1/actions/submit';
const refund = (amount: number, extra: Record<string, unknown> = {}) => JSON.stringify({
  agent_id: 'billing-agent', agent_name: 'Billing agent', action_type: 'payments.refund', resource: 'refund/r-1', action_details: { amount }, context: { environment: 'production' }, ...extra,
});
const key = (k: string) => ({ 'content-type': 'application/json', 'x-api-key': k });
const nested = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

interface Case {
  path?: string;
  headers: Record<string, string>;
  body?: string;
  /** Whether the fast path answers it (false: it is left to fastify). */
  fast: boolean;
}

// In order: the rate-limited key's cases spend its burst of 2.
const CASES: Record<string, Case> = {
  'agent key: allowed': { headers: key(KEYS.billing), body: refund(50), fast: true },
  'agent key: pending': { headers: key(KEYS.billing), body: refund(5000), fast: true },
  'agent key: denied': { headers: key(KEYS.billing), body: JSON.stringify({ agent_id: 'billing-agent', action_type: 'admin.access', resource: '/admin/users' }), fast: true },
  'agent key: agent_id "unknown" acts as its own agent': { headers: key(KEYS.billing), body: refund(50, { agent_id: 'unknown' }), fast: true },
  'agent key: orchestration fields': { headers: key(KEYS.billing), body: refund(50, { orchestration_session_id: 's-1', parent_action_id: 7, orchestration_depth: 2, model_id: 'm' }), fast: true },
  'agent key: another agent (403 agent_mismatch)': { headers: key(KEYS.billing), body: refund(50, { agent_id: 'crawler' }), fast: true },
  'agent key: orchestration_depth out of range (422)': { headers: key(KEYS.billing), body: refund(50, { orchestration_depth: 9 }), fast: true },
  'agent key: Authorization: Bearer': { headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.billing}` }, body: refund(50), fast: true },
  'agent key: a query string on the path': { path: `${PATH}?x=1`, headers: key(KEYS.billing), body: refund(50), fast: true },
  'admin key: names the agent': { headers: key(KEYS.admin), body: refund(50), fast: true },
  'admin key: no agent_id (400)': { headers: key(KEYS.admin), body: JSON.stringify({ action_type: 'payments.refund', resource: 'refund/r-1' }), fast: true },
  'gateway key: no agent_id is unidentified': { headers: key(KEYS.gateway), body: JSON.stringify({ action_type: 'orders.read', resource: 'orders' }), fast: true },
  'gateway key: malformed request facts (422)': { headers: key(KEYS.gateway), body: JSON.stringify({ action_type: 'orders.read', resource: 'orders', context: { ascend_request: 7 } }), fast: true },
  'malformed JSON': { headers: key(KEYS.billing), body: '{"action_type":', fast: true },
  '__proto__ key': { headers: key(KEYS.billing), body: '{"__proto__":{"x":1},"action_type":"a","resource":"r"}', fast: true },
  'too deep': { headers: key(KEYS.billing), body: JSON.stringify({ action_type: 'a', resource: 'r', context: JSON.parse(nested(40)) }), fast: true },
  'fails the schema': { headers: key(KEYS.billing), body: JSON.stringify({ action_type: 7, resource: 'r' }), fast: true },
  'a body of whitespace is no body': { headers: key(KEYS.billing), body: '   ', fast: true },
  'rate-limited key: 1st': { headers: key(RATED), body: refund(50), fast: true },
  'rate-limited key: 2nd': { headers: key(RATED), body: refund(50), fast: true },
  'rate-limited key: 3rd is 429': { headers: key(RATED), body: refund(50), fast: true },
  'rate-limited key: 429 before a body error': { headers: key(RATED), body: '{', fast: true },
  'no key (fastify)': { headers: { 'content-type': 'application/json' }, body: refund(50), fast: false },
  'unknown key (fastify)': { headers: key('k-nobody'), body: refund(50), fast: false },
  'two different keys (fastify)': { headers: { ...key(KEYS.billing), authorization: `Bearer ${KEYS.admin}` }, body: refund(50), fast: false },
  'approver key: role not listed (fastify)': { headers: key(KEYS.finance), body: refund(50), fast: false },
  'signing key, unsigned (fastify)': { headers: key(SIGNER), body: refund(50), fast: false },
  'text/plain (fastify)': { headers: { ...key(KEYS.billing), 'content-type': 'text/plain' }, body: refund(50), fast: false },
  'empty body (fastify)': { headers: { ...key(KEYS.billing), 'content-length': '0' }, fast: false },
  'trailing slash (fastify)': { path: `${PATH}/`, headers: key(KEYS.billing), body: refund(50), fast: false },
};

/** Log lines other than decisions, without what differs between two processes. */
const otherLines = (t: TestApp): LogLine[] => t.logs.filter((l) => l.kind !== 'decision').map(({ time: _t, pid: _p, hostname: _h, ...rest }) => rest);

describe('REST submit on the fast path: the same answers as fastify', () => {
  const pair = fastAndSlow(CONFIG);

  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const { fast, slow } = pair;
      const logged = [fast.logs.length, slow.logs.length];
      await expectSameAnswer(pair, { method: 'POST', path: c.path ?? PATH, headers: { host: 'sidecar', ...c.headers }, ...(c.body === undefined ? {} : { body: c.body }) }, c.fast);
      expect(otherLines({ ...fast, logs: fast.logs.slice(logged[0]) })).toEqual(otherLines({ ...slow, logs: slow.logs.slice(logged[1]) }));
    });
  }

  it('decisions are logged and counted alike', async () => {
    const { fast, slow } = pair;
    const strip = ({ time: _t, pid: _p, action_id: _a, latency_us: _l, ...rest }: LogLine) => rest;
    expect(fast.decisions().map(strip)).toEqual(slow.decisions().map(strip));
    expect(fast.decisions().length).toBeGreaterThan(5);
    const counters = async (t: TestApp) => (await (await fetch(t.url('/metrics'))).text()).split('\n')
      .filter((l) => /^ascend_(authz_decisions_total|api_rate_limited_total|decision_cache_(hits|misses)_total)/.test(l)).sort();
    expect(await counters(fast)).toEqual(await counters(slow));
    expect((await counters(fast)).some((l) => l.startsWith('ascend_api_rate_limited_total{key="rated"} 2'))).toBe(true);
  });
});

describe('REST submit on the fast path, with a store', () => {
  it('keeps the action: its status is found right after the answer', async () => {
    const dir = tempDir('ascend-fast-submit-');
    const t = await startApp(`${CONFIG}store: {path: ${JSON.stringify(join(dir, 'data', 'ascend.db'))}}\n`, { dir });
    try {
      const before = fastRoutesOf(t.app.http)!.served;
      const r = await rawRequest(t.httpPort, { method: 'POST', path: PATH, headers: { host: 'sidecar', ...key(KEYS.billing) }, body: refund(50) });
      expect(fastRoutesOf(t.app.http)!.served - before).toBe(1);
      const submitted = JSON.parse(r.body) as { action_id: string; decision: string };
      expect([r.status, submitted.decision]).toEqual([200, 'allowed']);
      const status = await call(t.url(''), 'GET', `/api/agent-action/status/${submitted.action_id}`, KEYS.billing);
      expect([status.status, (status.body as { decision?: string }).decision]).toEqual([200, 'allowed']);
    } finally {
      await t.close();
    }
  });
});
