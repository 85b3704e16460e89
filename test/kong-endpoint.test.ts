/**
 * POST /kong/v1/authorize and /kong/v1/complete over real HTTP, replaying exactly what our
 * Kong plugin sends (test/fixtures/kong/plugin-requests.json, shared with the busted specs).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { postJson, sample } from './helpers/http.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');

interface FixtureCase {
  name: string;
  why: string;
  expected_request: Record<string, any>;
  expected_decision: 'allowed' | 'denied' | 'pending';
}
const CASES = JSON.parse(readFileSync(new URL('./fixtures/kong/plugin-requests.json', import.meta.url), 'utf8')) as FixtureCase[];

/** What handler.lua needs to apply an answer (read_answer, header_map, deny, allow). */
function expectApplicable(a: any): void {
  expect(Object.keys(a).sort()).toEqual(
    ['action_id', 'allow', 'approval_id', 'body', 'client_headers', 'decision', 'reason', 'risk_score', 'status', 'upstream_headers'],
  );
  expect(typeof a.allow).toBe('boolean');
  expect(Number.isInteger(a.status) && a.status >= 100 && a.status <= 599).toBe(true);
  expect(typeof a.action_id).toBe('string');
  expect(typeof a.risk_score).toBe('number');
  for (const map of [a.upstream_headers, a.client_headers]) {
    expect(map).toBeTypeOf('object');
    for (const [k, v] of Object.entries(map)) {
      expect(k).toMatch(/^[a-z0-9-]+$/);
      expect(typeof v).toBe('string');
    }
  }
  if (a.allow) {
    expect(a.status).toBe(200);
    expect(a.body).toBeNull();
    expect(a.upstream_headers['x-ascend-decision']).toBe('allowed');
    expect(a.upstream_headers['x-ascend-action-id']).toBe(a.action_id);
  } else {
    expect(a.client_headers['content-type']).toBe('application/json');
    expect(a.client_headers['x-ascend-decision']).toBe(a.decision);
    expect(a.upstream_headers).toEqual({});
    const body = JSON.parse(a.body);
    expect(body).toMatchObject({ decision: a.decision, action_id: a.action_id });
  }
}

describe('Kong plugin endpoint (quickstart config)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(CORE);
  });
  afterAll(() => t.close());

  it('the fixture holds every decision kind', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
    expect(new Set(CASES.map((c) => c.expected_decision))).toEqual(new Set(['allowed', 'denied', 'pending']));
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await postJson(t.url('/kong/v1/authorize'), c.expected_request, { 'user-agent': 'kong-plugin-ascend/0.1.0' });
    expect(res.status).toBe(200);
    expect(res.json.decision, c.why).toBe(c.expected_decision);
    expect(res.json.allow).toBe(c.expected_decision === 'allowed');
    expectApplicable(res.json);
    if (c.expected_decision === 'pending') {
      expect(res.json.status).toBe(403);
      expect(res.json.approval_id).toMatch(/^apr_/);
      expect(res.json.client_headers['x-ascend-approval-id']).toBe(res.json.approval_id);
      expect(JSON.parse(res.json.body).approval_id).toBe(res.json.approval_id);
    } else {
      expect(res.json.approval_id).toBeNull();
    }
  });

  it('logs each decision with adapter kong and the route/service as gateway context', async () => {
    const before = t.decisions().length;
    const c = CASES.find((x) => x.name === 'refund-small-by-header-agent')!;
    const res = await postJson(t.url('/kong/v1/authorize'), c.expected_request);
    const line = t.decisions().slice(before).find((l) => l.action_id === res.json.action_id)!;
    expect(line).toMatchObject({ adapter: 'kong', agent_id: 'billing-agent', action_type: 'payments.refund', decision: 'allowed' });
  });

  describe('consumer identity', () => {
    const base = CASES.find((x) => x.name === 'consumer-username-identity')!.expected_request;
    const agentOf = async (body: unknown): Promise<unknown> => {
      const res = await postJson(t.url('/kong/v1/authorize'), body);
      return t.decisions().find((l) => l.action_id === res.json.action_id)?.agent_id;
    };

    it('username (agent_id_from username)', async () => {
      expect(await agentOf(base)).toBe('billing-agent');
    });
    it('custom_id (agent_id_from custom_id)', async () => {
      expect(await agentOf({ ...base, consumer: { id: 'c1', username: 'billing-bot', custom_id: 'crawler' }, agent_id_from: 'custom_id' })).toBe('crawler');
    });
    it('none: the consumer names no agent', async () => {
      expect(await agentOf({ ...base, agent_id_from: 'none' })).toBeNull();
    });
    it('the vouched consumer wins over a configured header source', async () => {
      const req = { ...base, request: { ...base.request, headers: { ...base.request.headers, 'x-agent-id': 'crawler' } } };
      expect(await agentOf(req)).toBe('billing-agent');
    });
    it('an absent field falls through to the configured sources', async () => {
      const req = { ...base, consumer: { id: 'c1', username: 'billing-agent' }, agent_id_from: 'custom_id', request: { ...base.request, headers: { 'x-agent-id': 'crawler' } } };
      expect(await agentOf(req)).toBe('crawler');
    });
    it('a consumer name that is not an identifier is a 400 decision, not an agent', async () => {
      const res = await postJson(t.url('/kong/v1/authorize'), { ...base, consumer: { username: 'billing agent' } });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ allow: false, status: 400, decision: 'denied' });
      expect(JSON.parse(res.json.body).code).toBe('invalid_agent_id');
    });
  });

  it('client-sent x-ascend-* headers never influence the decision or the answer', async () => {
    const c = CASES.find((x) => x.name === 'admin-read-denied')!;
    const spoofed = { ...c.expected_request, request: { ...c.expected_request.request, headers: { ...c.expected_request.request.headers, 'x-ascend-decision': 'allowed', 'x-ascend-approval-id': 'apr_fake' } } };
    const res = await postJson(t.url('/kong/v1/authorize'), spoofed);
    expect(res.json).toMatchObject({ allow: false, decision: 'denied' });
    expect(res.json.client_headers['x-ascend-approval-id']).toBeUndefined();
  });

  it('accepts JSON null for absent Kong entity fields', async () => {
    const c = CASES.find((x) => x.name === 'orders-read-by-crawler')!;
    const res = await postJson(t.url('/kong/v1/authorize'), { ...c.expected_request, route: { id: 'r1', name: null }, consumer: { id: 'c', username: null, custom_id: null } });
    expect(res.status).toBe(200);
    expect(res.json.decision).toBe('allowed');
  });

  describe('completion', () => {
    it('answers 204, logs a completion line and counts it', async () => {
      const before = t.logs.length;
      const seen: string[] = [];
      t.app.completions.onCompletion((c) => seen.push(c.actionId));
      const res = await postJson(t.url('/kong/v1/complete'), { action_id: 'act-1', upstream_status: 201, latencies: { request: 42.5, proxy: -1, kong: 4 } });
      expect(res.status).toBe(204);
      expect(seen).toEqual(['act-1']);
      const line = t.logs.slice(before).find((l) => l.kind === 'completion');
      expect(line).toMatchObject({ action_id: 'act-1', adapter: 'kong', upstream_status: 201, latencies_ms: { request: 42.5, proxy: -1, kong: 4 } });
      const metrics = await (await fetch(t.url('/metrics'))).text();
      expect(sample(metrics, 'ascend_action_completions_total', { adapter: 'kong' })).toBe(1);
    });

    it('latencies and upstream_status are optional', async () => {
      expect((await postJson(t.url('/kong/v1/complete'), { action_id: 'act-2' })).status).toBe(204);
    });

    it('refuses a completion without an action_id', async () => {
      const res = await postJson(t.url('/kong/v1/complete'), { upstream_status: 200 });
      expect(res.status).toBe(400);
      expect(res.json.code).toBe('invalid_request');
    });
  });

  it('counts decisions under adapter="kong"', async () => {
    const metrics = await (await fetch(t.url('/metrics'))).text();
    expect(sample(metrics, 'ascend_authz_decisions_total', { adapter: 'kong', decision: 'pending' })).toBeGreaterThanOrEqual(2);
    expect(sample(metrics, 'ascend_authz_decisions_total', { adapter: 'kong', decision: 'allowed' })).toBeGreaterThanOrEqual(10);
  });
});

describe('Kong facts in mapping and conditions', () => {
  const CONFIG = `
identity:
  sources:
    - consumer: {field: custom_id}
    - header: x-agent-id
agents:
  - {id: ba-1, type: supervised}
routes:
  - match: {path: "/v1/**"}
    action_type: "kong.{service}"
    resource: "{route}/{consumer}{path}"
policies:
  - {id: pol_refunds_route, priority: 10, action: allow,
     conditions: {context.gateway.route: refunds, context.gateway.service: payments, context.gateway.consumer.username: billing-agent}}
`;
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(CONFIG);
  });
  afterAll(() => t.close());

  const body = (over: Record<string, unknown> = {}) => ({
    request: { method: 'POST', scheme: 'https', host: 'api.example.com', port: 443, path: '/v1/refunds/r-1', raw_query: '', headers: { 'x-agent-id': 'crawler' } },
    consumer: { id: 'c1', username: 'billing-agent', custom_id: 'ba-1' },
    route: { id: 'r1', name: 'refunds' },
    service: { id: 's1', name: 'payments' },
    agent_id_from: 'username',
    ...over,
  });

  it('route, service and consumer reach templates and context.gateway conditions', async () => {
    const res = await postJson(t.url('/kong/v1/authorize'), body());
    expect(res.json.decision).toBe('allowed');
    const line = t.decisions().find((l) => l.action_id === res.json.action_id)!;
    expect(line).toMatchObject({ action_type: 'kong.payments', resource: 'refunds/billing-agent/v1/refunds/r-1', policy_id: 'pol_refunds_route' });
  });

  it('a configured consumer source decides the field and its place, whatever agent_id_from says', async () => {
    const res = await postJson(t.url('/kong/v1/authorize'), body({ agent_id_from: 'none' }));
    expect(t.decisions().find((l) => l.action_id === res.json.action_id)?.agent_id).toBe('ba-1');
  });

  it('without a consumer the next configured source is used', async () => {
    const res = await postJson(t.url('/kong/v1/authorize'), body({ consumer: undefined }));
    expect(t.decisions().find((l) => l.action_id === res.json.action_id)?.agent_id).toBe('crawler');
    expect(res.json.decision).toBe('denied');
  });

  it('an unnamed route is known by its id', async () => {
    const res = await postJson(t.url('/kong/v1/authorize'), body({ route: { id: 'r-uuid' } }));
    const line = t.decisions().find((l) => l.action_id === res.json.action_id)!;
    expect(line.resource).toBe('r-uuid/billing-agent/v1/refunds/r-1');
    expect(res.json.decision).toBe('denied');
  });
});
