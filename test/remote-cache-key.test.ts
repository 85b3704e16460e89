/**
 * The edge's remote cache key (evaluator/remote.ts keyOf) against the bodies it stands for: a
 * real control-plane stub on a loopback socket answers every submission with the body it
 * received, so an answer served from the edge's cache for another request's body shows as a
 * body that is not this request's. Every input here submits a body of its own (parameters,
 * context, request facts, forwarded views, the parameters key…): each must be answered for its
 * own body, on its miss and on its hits, and each distinct body must have been asked once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RequestView } from '../src/core/action.js';
import { RemoteEvaluator, type RemoteAnswer, type RemoteInput } from '../src/evaluator/remote.js';
import { RemoteMetrics } from '../src/evaluator/remote-metrics.js';
import { ForwardedFacts } from '../src/evaluator/request-facts.js';

const FACTS = 'headers.x-tenant,method,query.region';
const rt = { fail_mode: 'closed', responses: { denied_status: 403, pending_status: 403, unavailable_status: 503, retry_after_seconds: 30 } } as const;

let server: Server;
const bodies: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      bodies.push(body);
      const answer = JSON.stringify({ decision: 'allowed', code: 'policy_allow', reason: body });
      // Under /none/, a control plane whose policies read no request facts.
      const facts = req.url?.startsWith('/none/') === true ? 'none' : FACTS;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60', 'x-ascend-request-facts': facts });
      res.end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function evaluator(path = ''): RemoteEvaluator {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return new RemoteEvaluator({
    config: { mode: 'remote', url, timeout_ms: 2000, stale_if_error_ms: 0, connections: 2, breaker: { failures: 5, open_ms: 1000, half_open_probes: 1 } } as never,
    apiKey: 'k-test', cache: { enabled: true, ttl_ms: 60_000, max_entries: 1000 }, metrics: new RemoteMetrics(new Registry()), logger: pino({ level: 'silent' }),
  });
}

const view = (over: Partial<RequestView> = {}): RequestView => ({
  method: 'POST', path: '/v1/refunds/r-1', host: 'payments.internal', scheme: 'http', sourceIp: '10.0.0.7', principal: undefined,
  headers: { 'x-tenant': 'acme', 'x-request-id': 'r-1' }, query: { region: 'eu' }, ...over,
});

const action = (over: Partial<RemoteInput['action']> = {}): RemoteInput['action'] => ({
  agent_id: 'billing-agent', action_type: 'payments.refund', resource: 'refund/r-1', parameters: { amount: '50' },
  context: { environment: 'production', gateway: { adapter: 'envoy', source_ip: '10.0.0.7' } }, ...over,
});

/** Inputs whose bodies all differ from one another. */
const inputs: Record<string, RemoteInput> = {
  base: { action: action(), request: view() },
  'parameters: another value': { action: action({ parameters: { amount: '51' } }), request: view() },
  'parameters: another member': { action: action({ parameters: { amount: '50', currency: 'EUR' } }), request: view() },
  'parameters: a number, not a string': { action: action({ parameters: { amount: 50 } }), request: view() },
  'context: another value': { action: action({ context: { environment: 'staging' } }), request: view() },
  'context: another member': { action: action({ context: { environment: 'production', tier: 'gold' } }), request: view() },
  'context: a null member (not an absent one)': { action: action({ context: { environment: 'production', tier: null } }), request: view() },
  'context: a nested value': { action: action({ context: { environment: 'production', tier: { level: 1 } } }), request: view() },
  'context: a name that reads like a value': { action: action({ context: { production: 'environment' } }), request: view() },
  'agent': { action: action({ agent_id: 'crawler' }), request: view() },
  'no agent': { action: action({ agent_id: null }), request: view() },
  'action type': { action: action({ action_type: 'payments.refund2' }), request: view() },
  'resource': { action: action({ resource: 'refund/r-2' }), request: view() },
  'request fact: header': { action: action(), request: view({ headers: { 'x-tenant': 'other' } }) },
  'request fact: header absent': { action: action(), request: view({ headers: {} }) },
  'request fact: method': { action: action(), request: view({ method: 'GET' }) },
  'request fact: query list': { action: action(), request: view({ query: { region: ['eu', 'us'] } }) },
  'no request (an API submission)': { action: action(), request: undefined },
  'a forwarded view: method only': { action: action(), request: view({ forwardedFacts: new Set(['method']) }) },
  'a forwarded view: method and header': { action: action(), request: view({ forwardedFacts: new Set(['method', 'headers.x-tenant']) }) },
  'a parameters key': { action: action({ parameters: { big: 'x' } }), request: view(), parametersKey: '0:aaaa' },
  'another parameters key': { action: action({ parameters: { big: 'y' } }), request: view(), parametersKey: '0:bbbb' },
};

/** Inputs whose bodies equal base's: what the key must leave out. */
const sameAsBase: Record<string, RemoteInput> = {
  'another client address (context.gateway)': { action: action({ context: { environment: 'production', gateway: { adapter: 'kong', source_ip: '10.9.9.9' } } }), request: view({ sourceIp: '10.9.9.9' }) },
  'a header the control plane does not read': { action: action(), request: view({ headers: { 'x-tenant': 'acme', 'x-request-id': 'r-2' } }) },
"a context member JSON leaves out (undefined)": { action: action({ context: { environment: 'production', tier: undefined } }), request: view() },
  "a client's own ascend_request": { action: action({ context: { environment: 'production', ascend_request: { facts: [] } } }), request: view() },
};

async function answer(ev: RemoteEvaluator, input: RemoteInput): Promise<{ answer: RemoteAnswer; sync: boolean }> {
  const a = ev.decide(input, undefined, rt);
  return { answer: await a, sync: !(a instanceof Promise) };
}

describe("the edge's remote cache key", () => {
  it('never answers a request with an answer to another body; each body is asked once', async () => {
    const ev = evaluator();
    try {
      // The first answer names the facts the control plane reads; from then on they are forwarded.
      await answer(ev, { action: action({ resource: 'warm-up' }), request: view() });
      expect(ev.requestFacts).toEqual(FACTS.split(','));
      bodies.length = 0;
      const own = new Map<string, string>();
      for (const [name, input] of Object.entries(inputs)) {
        const { answer: a, sync } = await answer(ev, input);
        expect(sync, `${name}: a miss`).toBe(false);
        own.set(name, a.decision.reason);
      }
      expect(new Set(bodies).size).toBe(bodies.length);
      expect(bodies.length).toBe(Object.keys(inputs).length);
      // Hits, each in a different order from the misses: the answer to its own body.
      for (const [name, input] of Object.entries(inputs).reverse()) {
        const { answer: a, sync } = await answer(ev, input);
        expect([name, sync, a.decision.reason]).toEqual([name, true, own.get(name)]);
      }
      for (const [name, input] of Object.entries(sameAsBase)) {
        const { answer: a, sync } = await answer(ev, input);
        expect([name, sync, a.decision.reason]).toEqual([name, true, own.get('base')]);
      }
      expect(bodies.length).toBe(Object.keys(inputs).length);
      // What the bodies carried: the facts the control plane reads, only those a forwarded view knew.
      const base = JSON.parse(own.get('base') as string);
      expect(base.context).toEqual({ environment: 'production', ascend_request: { facts: FACTS.split(','), method: 'POST', headers: { 'x-tenant': 'acme' }, query: { region: 'eu' } } });
      expect(JSON.parse(own.get('a forwarded view: method only') as string).context.ascend_request).toEqual({ facts: ['method'], method: 'POST' });
      expect(JSON.parse(own.get('no request (an API submission)') as string).context).toEqual({ environment: 'production' });
    } finally {
      await ev.close();
    }
  });

  it('with no request facts read, a gateway request and an API submission still differ', async () => {
    const ev = evaluator('/none');
    try {
      await answer(ev, { action: action({ resource: 'warm-up-none' }), request: view() });
      expect(ev.requestFacts).toEqual([]);
      const gateway = await answer(ev, { action: action(), request: view() });
      const api = await answer(ev, { action: action(), request: undefined });
      expect([gateway.sync, api.sync]).toEqual([false, false]);
      expect(JSON.parse(gateway.answer.decision.reason).context).toEqual({ environment: 'production', ascend_request: { facts: [] } });
      expect(JSON.parse(api.answer.decision.reason).context).toEqual({ environment: 'production' });
      // Another header or method is the same body here: a hit.
      const other = await answer(ev, { action: action(), request: view({ method: 'GET', headers: {} }) });
      expect([other.sync, other.answer.decision.reason]).toEqual([true, gateway.answer.decision.reason]);
    } finally {
      await ev.close();
    }
  });

  it("a forwarded view's facts JSON is built once per check: for its key and, on a miss, its body", async () => {
    const ev = evaluator();
    const json = vi.spyOn(ForwardedFacts.prototype, 'json');
    try {
      await answer(ev, { action: action({ resource: 'warm-up-3' }), request: view() });
      const input = { action: action({ resource: 'forwarded-once' }), request: view({ forwardedFacts: new Set(['method']) }) };
      json.mockClear();
      const miss = await answer(ev, input);
      expect([miss.sync, json.mock.calls.length]).toEqual([false, 1]);
      expect(JSON.parse(miss.answer.decision.reason).context.ascend_request).toEqual({ facts: ['method'], method: 'POST' });
      json.mockClear();
      const hit = await answer(ev, input);
      expect([hit.sync, json.mock.calls.length, hit.answer.decision.reason]).toEqual([true, 1, miss.answer.decision.reason]);
    } finally {
      json.mockRestore();
      await ev.close();
    }
  });

  it('concurrent identical misses make one call; different bodies in flight make one each', async () => {
    const ev = evaluator();
    try {
      await answer(ev, { action: action({ resource: 'warm-up-2' }), request: view() });
      bodies.length = 0;
      const same = Array.from({ length: 20 }, () => ev.decide({ action: action({ resource: 'flight' }), request: view() }, undefined, rt));
      const other = ev.decide({ action: action({ resource: 'flight', parameters: { amount: '52' } }), request: view() }, undefined, rt);
      const answers = await Promise.all([...same, other]);
      expect(bodies.length).toBe(2);
      expect(new Set(answers.slice(0, 20).map((a) => a.decision.reason)).size).toBe(1);
      expect(answers[20]?.decision.reason).not.toBe(answers[0]?.decision.reason);
    } finally {
      await ev.close();
    }
  });
});
