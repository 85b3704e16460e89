/**
 * The approvals store off the event loop, end to end with real processes and files:
 * - another process holds SQLite's write lock on the sidecar's file (BEGIN EXCLUSIVE): checks
 *   that need no store are still answered within their gRPC deadline, and a pending check is
 *   answered per fail_mode before its deadline instead of hanging;
 * - the store's worker thread dies under a pending check: the check is answered `store_error`
 *   and the next one gets a new worker;
 * - `serve --workers 2` on one file: both processes create approvals, the caps exact across them.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { WorkerStore } from '../src/approvals/store/worker/worker-store.js';
import { writeConfig } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { withAppAndClient } from './helpers/app-client.js';
import { AuthzClient, decisionOf, type CheckResponse } from './helpers/grpc-client.js';
import { spawnSidecar } from './helpers/process.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const HOLD_LOCK = fileURLToPath(new URL('./fixtures/hold-lock.mjs', import.meta.url));
const ALLOW = { method: 'GET', path: '/v1/orders/1', headers: { 'x-agent-id': 'billing-agent' } };
const refund = (id: string) => ({ method: 'POST', path: `/v1/refunds/${id}?amount=5000`, headers: { 'x-agent-id': 'billing-agent' } });
const body = (r: CheckResponse) => JSON.parse(r.denied_response?.body ?? 'null') as Record<string, unknown>;

function storeDir(extra = ''): { dir: string; config: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ascend-store-worker-'));
  return { dir, config: writeConfig(storeConfig(dir, CORE, extra), dir).path, db: join(dir, 'data', 'ascend.db') };
}

/** Another process takes the file's write lock; `release` commits and ends it. */
async function holdLock(db: string): Promise<{ release(): Promise<void> }> {
  const child = fork(HOLD_LOCK, [db], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (what: string) => new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === what ? resolve() : reject(new Error(`lock holder said ${String(m)}`))));
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code}) before "${what}"`)));
  });
  await next('locked');
  return { release: async () => { child.send('release'); await next('released'); } };
}

describe('a store file locked by another process', () => {
  it('answers cached allows within their deadline, and a pending check per fail_mode before its deadline', async () => {
    const { config, db } = storeDir();
    const s = await spawnSidecar(config, ['--no-watch']);
    const c = new AuthzClient(s.grpcPort);
    try {
      expect(decisionOf(await c.check(ALLOW))).toBe('allowed'); // cached from now on
      expect(decisionOf(await c.check(refund('r-before')))).toBe('pending');
      const lock = await holdLock(db);
      try {
        // For a second of checks: every audit flush of their rows meets the held lock. Deadlines
        // of 3 s, under the 5 s busy timeout that a write on the event loop would block it for.
        for (const until = Date.now() + 1000; Date.now() < until;) {
          expect(decisionOf(await c.check(ALLOW, { deadline: Date.now() + 3000 }))).toBe('allowed');
        }
        const pending = await c.check(refund('r-locked'), { deadline: Date.now() + 3000 });
        expect([decisionOf(pending), body(pending).code]).toEqual(['denied', 'deadline_exceeded']);
      } finally {
        await lock.release();
      }
      expect(decisionOf(await c.check(refund('r-after')))).toBe('pending');
      expect(decisionOf(await c.check(ALLOW))).toBe('allowed');
    } finally {
      c.close();
      expect(await s.stop()).toBe(0);
    }
  }, 60_000);
});

describe('a store worker that dies', () => {
  it('answers the pending check in flight store_error per fail_mode; the next one gets a new worker', async () => {
    const { dir, db } = storeDir();
    await withAppAndClient(storeConfig(dir, CORE), { dir }, async (t, c) => {
      expect(decisionOf(await c.check(refund('r-1')))).toBe('pending');
      const lock = await holdLock(db); // the next pending check waits in the worker
      try {
        const inflight = c.check(refund('r-2'));
        await (t.app.approvals!.store as WorkerStore).terminate();
        expect(body(await inflight)).toMatchObject({ decision: 'denied', code: 'store_error' });
        expect(decisionOf(await c.check(ALLOW))).toBe('allowed');
      } finally {
        await lock.release();
      }
      expect(decisionOf(await c.check(refund('r-2')))).toBe('pending');
      expect(t.logs.some((l) => l.msg === 'store worker died; calls in flight failed, the next call starts a new worker')).toBe(true);
    });
  }, 30_000);
});

describe('serve --workers 2 on one store file', () => {
  it('both processes create approvals in the shared file, with the cap exact across them', async () => {
    const { config } = storeDir('approvals: {max_pending_per_agent: 5}');
    const s = await spawnSidecar(config, ['--workers', '2', '--no-watch'], {}, { readyTimeoutMs: 30_000 });
    const clients = Array.from({ length: 8 }, () => new AuthzClient(s.grpcPort, { ownConnection: true }));
    try {
      await waitFor(() => s.lines.filter((l) => l.msg === 'worker listening').length === 2, { what: 'two workers' });
      const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => clients[i % 8]!.check(refund(`w-${i}`))));
      const codes = answers.map((r) => (decisionOf(r) === 'pending' ? 'pending' : body(r).code));
      expect(codes.filter((x) => x === 'pending')).toHaveLength(5);
      expect(codes.filter((x) => x === 'too_many_pending')).toHaveLength(19);
      await waitFor(() => s.lines.filter((l) => l.kind === 'decision').length >= 24, { what: 'decision lines' });
      expect(new Set(s.lines.filter((l) => l.kind === 'decision').map((l) => l.pid)).size).toBe(2);
      const listed = await call(`http://127.0.0.1:${s.httpPort}`, 'GET', '/api/approvals?status=pending', KEYS.admin);
      expect(listed.body.items).toHaveLength(5);
    } finally {
      clients.forEach((c) => c.close());
      expect(await s.stop()).toBe(0);
    }
  }, 60_000);
});
