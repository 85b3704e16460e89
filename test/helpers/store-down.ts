/**
 * What the store-fault tests (store-postgres-faults, store-postgres-crash) ask of a sidecar
 * whose PostgreSQL is unreachable: Checks with a gRPC deadline and their timing, /readyz, and
 * the closed-mode answers (quickstart.yaml: a refund over 1,000 needs an approval, one of 50 is
 * a plain allow).
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'vitest';
import { checkRequest, decisionOf, type AuthzClient } from './grpc-client.js';
import { waitFor } from './wait.js';

export const refund = (id: string, amount: number) => ({ method: 'POST', path: `/v1/refunds/${id}?amount=${amount}`, headers: { 'x-agent-id': 'billing-agent' } });

type Res = Record<string, any>;

/** One Check with a gRPC deadline; resolves with the response and how long it took. */
export function check(c: AuthzClient, req: ReturnType<typeof refund>, deadlineMs: number): Promise<{ res: Res; ms: number }> {
  const client = c as unknown as { client: grpc.Client & Record<string, (...a: unknown[]) => void> };
  const t0 = performance.now();
  return new Promise((resolve, reject) => client.client.Check!(checkRequest(req), { deadline: Date.now() + deadlineMs },
    (err: Error | null, res: Res) => (err ? reject(err) : resolve({ res, ms: performance.now() - t0 }))));
}

export const decision = (res: Res) => decisionOf(res as never);
export const codeOf = (res: Res) => JSON.parse(res.denied_response?.body ?? '{}').code as string | undefined;
export const readyz = async (httpPort: number) => (await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json()) as Record<string, unknown>;

/**
 * With the store unreachable: a check that needs it (a new pending refund `pendingId`) is denied
 * (store_error, or deadline_exceeded when the deadline came first) inside `deadlineMs` plus
 * `slackMs`; a plain allow (`plainId`) answers under 250 ms; /readyz reports `store: degraded`
 * and stays ready.
 */
export async function expectClosedWhileDown(c: AuthzClient, httpPort: number, o: { pendingId: string; plainId: string; deadlineMs: number; slackMs?: number }): Promise<void> {
  const pending = await check(c, refund(o.pendingId, 4200), o.deadlineMs);
  expect(decision(pending.res)).toBe('denied');
  expect(['deadline_exceeded', 'store_error']).toContain(codeOf(pending.res));
  expect(pending.ms).toBeLessThan(o.deadlineMs + (o.slackMs ?? 0));
  const plain = await check(c, refund(o.plainId, 50), 500);
  expect(decision(plain.res)).toBe('allowed');
  expect(plain.ms).toBeLessThan(250);
  await waitFor(async () => (await readyz(httpPort)).store === 'degraded', { what: '/readyz store: degraded', timeoutMs: 10_000, everyMs: 100 });
  expect((await readyz(httpPort)).status).toBe('ready');
}
