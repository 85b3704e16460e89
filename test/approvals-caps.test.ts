/**
 * Caps on pending approvals (approvals.max_pending_per_agent, max_pending_total) through the real
 * sidecar: a new approval beyond a cap is a denial with code too_many_pending, HTTP 429 and
 * retry-after in every protocol that carries a status, counted in
 * ascend_approvals_rejected_total; a retry of an action already pending still gets its approval;
 * the count is exact under concurrency; and fail_mode open never turns the denial into an allow.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { startApp } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { AuthzClient, decisionOf, header, type CheckResponse } from './helpers/grpc-client.js';
import { postJson, rawRequest, sample } from './helpers/http.js';
import { tempDir } from './helpers/tmp.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const KONG_PENDING = (JSON.parse(readFileSync(new URL('./fixtures/kong/plugin-requests.json', import.meta.url), 'utf8')) as
  { expected_request: Record<string, any>; expected_decision: string }[]).find((c) => c.expected_decision === 'pending')!.expected_request;
const dir = tempDir('ascend-caps-');
let n = 0;

/** A refund over the approval threshold: one distinct pending action per (agent, id). */
const refund = (id: string, agent = 'billing-agent') => ({ method: 'POST', path: `/v1/refunds/${id}?amount=5000`, headers: { 'x-agent-id': agent } });
const body = (r: CheckResponse) => JSON.parse(r.denied_response?.body ?? 'null') as Record<string, unknown>;

async function sidecar(extra: string, base = CORE) {
  const d = join(dir, `app${++n}`);
  mkdirSync(d, { recursive: true });
  const t = await startApp(storeConfig(d, base, extra), { dir: d });
  const c = new AuthzClient(t.grpcPort);
  const pendingCount = async () => (await call(t.url(''), 'GET', '/api/approvals?status=pending&limit=200', KEYS.admin)).body.items.length as number;
  const rejected = async (limit: string) => sample(await (await fetch(t.url('/metrics'))).text(), 'ascend_approvals_rejected_total', { reason: 'too_many_pending', limit });
  return { t, c, pendingCount, rejected, close: async () => { c.close(); await t.close(); } };
}

function expectTooMany(r: CheckResponse, limit: 'max_pending_per_agent' | 'max_pending_total'): void {
  expect(r.status.code).toBe(grpc.status.PERMISSION_DENIED);
  expect(r.denied_response?.status?.code).toBe('TooManyRequests');
  expect(decisionOf(r)).toBe('denied');
  expect(header(r, 'retry-after')).toBe('30');
  expect(header(r, 'x-ascend-approval-id')).toBeUndefined();
  expect(body(r)).toMatchObject({ decision: 'denied', code: 'too_many_pending', reason: expect.stringContaining(`approvals.${limit}`) });
}

describe('approvals.max_pending_per_agent (default 100)', () => {
  it('denies the 101st distinct pending of one agent with 429, keeps its retries and other agents pending', async () => {
    const s = await sidecar('');
    try {
      const first = await s.c.check(refund('r-0'));
      for (let i = 1; i < 100; i++) expect(decisionOf(await s.c.check(refund(`r-${i}`))), `refund ${i}`).toBe('pending');
      expect(await s.pendingCount()).toBe(100);

      const over = await s.c.check(refund('r-100'));
      expectTooMany(over, 'max_pending_per_agent');
      expect(body(over).reason).toContain('agent billing-agent has 100');
      expect(await s.pendingCount()).toBe(100);

      const retry = await s.c.check(refund('r-0'));
      expect(decisionOf(retry)).toBe('pending');
      expect(header(retry, 'x-ascend-approval-id')).toBe(header(first, 'x-ascend-approval-id'));
      expect(decisionOf(await s.c.check(refund('r-100', 'crawler')))).toBe('pending');

      expect(await s.rejected('per_agent')).toBe(1);
      expect(await s.rejected('total')).toBe(0);
      const line = s.t.decisions().find((l) => l.code === 'too_many_pending');
      expect(line).toMatchObject({ decision: 'denied', agent_id: 'billing-agent' });
    } finally {
      await s.close();
    }
  }, 60_000);

  it('answers 429 with retry-after in the Kong, forward-auth and REST protocols too', async () => {
    const s = await sidecar('approvals: {max_pending_per_agent: 1}');
    try {
      expect(decisionOf(await s.c.check(refund('held')))).toBe('pending');

      const kong = await postJson(s.t.url('/kong/v1/authorize'), KONG_PENDING);
      expect(kong.json).toMatchObject({ allow: false, status: 429, decision: 'denied', approval_id: null });
      expect(kong.json.client_headers['retry-after']).toBe('30');
      expect(JSON.parse(kong.json.body)).toMatchObject({ code: 'too_many_pending' });

      const fa = await rawRequest(s.t.httpPort, { path: '/forward-auth', headers: {
        'x-original-uri': '/v1/refunds/fa-1?amount=5000', 'x-original-method': 'POST', 'x-original-host': 'api.example.com', 'x-agent-id': 'billing-agent',
      } });
      expect([fa.status, fa.headers['retry-after'], JSON.parse(fa.body).code]).toEqual([429, '30', 'too_many_pending']);

      const action = { agent_id: 'billing-agent', action_type: 'payments.refund', resource: 'refund/api-1', parameters: { amount: 5000 } };
      const api = await call(s.t.url(''), 'POST', '/api/authorization/agent-action', KEYS.billing, action);
      expect([api.status, api.headers.get('retry-after')]).toEqual([429, '30']);
      expect(api.body).toMatchObject({ decision: 'denied', code: 'too_many_pending', retry_after: 30 });
      expect(api.body.approval_id).toBeUndefined();

      const batch = await call(s.t.url(''), 'POST', '/api/authorization/agent-actions/batch', KEYS.billing, { actions: [action] });
      expect(batch.status).toBe(200); // one status for several decisions: the code is per result
      expect(batch.body.results).toEqual([expect.objectContaining({ code: 'too_many_pending', retry_after: 30 })]);

      expect(await s.rejected('per_agent')).toBe(4);
      expect(await s.pendingCount()).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('is exact under concurrency: 50 parallel distinct pendings against a cap of 10 create exactly 10', async () => {
    const s = await sidecar('approvals: {max_pending_per_agent: 10}');
    const clients = Array.from({ length: 5 }, () => new AuthzClient(s.t.grpcPort, { ownConnection: true }));
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => clients[i % 5]!.check(refund(`par-${i}`))));
      const codes = answers.map((r) => (decisionOf(r) === 'pending' ? 'pending' : body(r).code));
      expect(codes.filter((c) => c === 'pending')).toHaveLength(10);
      expect(codes.filter((c) => c === 'too_many_pending')).toHaveLength(40);
      expect(await s.pendingCount()).toBe(10);
      expect(await s.rejected('per_agent')).toBe(40);
    } finally {
      clients.forEach((c) => c.close());
      await s.close();
    }
  });
});

describe('approvals.max_pending_total', () => {
  it('denies every agent a new approval once the store holds the total, whatever its own count', async () => {
    const s = await sidecar('approvals: {max_pending_total: 3}');
    try {
      for (const agent of ['a1', 'a2', 'a3']) expect(decisionOf(await s.c.check(refund('r-1', agent)))).toBe('pending');
      expectTooMany(await s.c.check(refund('r-1', 'a4')), 'max_pending_total');
      expect(decisionOf(await s.c.check(refund('r-1', 'a1')))).toBe('pending'); // a retry is not new
      expect(await s.rejected('total')).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('is a decision, not a failure: fail_mode open still denies it', async () => {
    const s = await sidecar('approvals: {max_pending_total: 1}', CORE.replace('fail_mode: closed', 'fail_mode: open'));
    try {
      expect(decisionOf(await s.c.check(refund('r-1')))).toBe('pending');
      const over = await s.c.check(refund('r-2'));
      expectTooMany(over, 'max_pending_total');
      expect(header(over, 'x-ascend-fail-open')).toBeUndefined();
      expect(sample(await (await fetch(s.t.url('/metrics'))).text(), 'ascend_fail_open_total', { adapter: 'envoy' })).toBe(0);
    } finally {
      await s.close();
    }
  });
});
