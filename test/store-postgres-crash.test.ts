/**
 * PostgreSQL itself stopped under a running sidecar (the real CLI), and started again: the test
 * runs a server of its own (test/helpers/pg.ts ownPg, even when ASCEND_TEST_PG_URL names
 * another) and crashes it as `pg_ctl stop -m immediate` does — every connection dropped, no
 * checkpoint. While it is down a check that needs the store is denied per fail_mode (closed)
 * inside the caller's deadline, cached and plain decisions keep flowing, and /readyz shows
 * `store: degraded`; once it is started again on the same port and data directory, the same
 * sidecar process recovers by itself and finds the approval it created before the crash.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { writeConfig } from './helpers/app.js';
import { API_KEYS_YAML } from './helpers/api.js';
import { AuthzClient } from './helpers/grpc-client.js';
import { ownPg } from './helpers/pg.js';
import { spawnSidecar, type Sidecar } from './helpers/process.js';
import { check as checkOn, codeOf, decision, expectClosedWhileDown, readyz as readyzOf, refund } from './helpers/store-down.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
vi.setConfig({ testTimeout: 90_000 }); // a server start and crash recovery on a shared machine
const server = await ownPg();
let s: Sidecar | undefined;
let c: AuthzClient | undefined;
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`sidecar stderr:\n${s?.stderr.join('') ?? '(none)'}`);
});
afterAll(async () => {
  c?.close();
  await s?.stop('SIGKILL');
  if ('url' in server) await server.close();
}, 60_000);

const check = (req: ReturnType<typeof refund>, deadlineMs: number) => checkOn(c!, req, deadlineMs);
const readyz = () => readyzOf(s!.httpPort);
const approvalIdOf = (res: Record<string, any>) => JSON.parse(res.denied_response?.body ?? '{}').approval_id as string | undefined;

const title = 'PostgreSQL crashed and started again under a running sidecar (fail_mode closed)';
(('skip' in server) ? describe.skipIf(true) : describe)(`${title}${'skip' in server ? ` [skipped: ${server.skip}]` : ''}`, () => {
  const pg = server as Exclude<typeof server, { skip: string }>;
  let before: string | undefined;

  it('works on the server before the crash', async () => {
    const dir = tempDir('ascend-pg-crash-');
    const { path } = writeConfig(`store: {driver: postgres, url: {env: OWN_PG_URL}, schema: crash, statement_timeout_ms: 500}\n${API_KEYS_YAML}\n${CORE}`, dir);
    s = await spawnSidecar(path, ['--no-watch'], { OWN_PG_URL: pg.url });
    c = new AuthzClient(s.grpcPort, { ownConnection: true });
    const first = await check(refund('r-c0', 4200), 5000);
    expect(decision(first.res)).toBe('pending');
    before = approvalIdOf(first.res);
    expect(before).toMatch(/^apr_/);
    expect(decision((await check(refund('r-c1', 50), 2000)).res)).toBe('allowed'); // now cached
    expect(await readyz()).toMatchObject({ status: 'ready', store: 'ok' });
  });

  it('denies at once what needs the store while it is down; cached and plain allows keep flowing; /readyz degraded', async () => {
    await pg.crash();
    await expectClosedWhileDown(c!, s!.httpPort, { pendingId: 'r-c2', plainId: 'r-c3', deadlineMs: 2000 });
    const cached = await check(refund('r-c1', 50), 500);
    expect(decision(cached.res)).toBe('allowed');
    expect(cached.ms).toBeLessThan(250);
    // Still answering inside the deadline after the breaker opened.
    const again = await check(refund('r-c4', 4200), 1000);
    expect([decision(again.res), codeOf(again.res)]).toEqual(['denied', 'store_error']);
    expect(again.ms).toBeLessThan(1000);
  });

  it('recovers without a restart when the server is started again, with what it had committed', async () => {
    await pg.start();
    await waitFor(async () => (await readyz()).store === 'ok', { what: '/readyz store: ok again', timeoutMs: 30_000, everyMs: 100 });
    const retry = await check(refund('r-c0', 4200), 5000);
    expect(decision(retry.res)).toBe('pending');
    expect(approvalIdOf(retry.res)).toBe(before); // the approval made before the crash, not a new one
    expect(decision((await check(refund('r-c5', 4200), 5000)).res)).toBe('pending');
    expect(s!.proc.exitCode).toBeNull();
  });
});
