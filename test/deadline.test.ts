/**
 * A store that does not answer within the gRPC deadline: the check is answered per fail_mode
 * (deadline_exceeded) before Envoy's own timeout, never left hanging and never a gRPC error.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { storeConfig } from './helpers/api.js';
import { withAppAndClient } from './helpers/app-client.js';
import { checkRequest, decisionOf } from './helpers/grpc-client.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');

describe('approvals store slower than the caller’s deadline', () => {
  it.each([
    ['closed', 'denied'],
    ['open', 'allowed'],
  ] as const)('fail_mode %s answers %s before the deadline', async (mode, want) => {
    const dir = mkdtempSync(join(tmpdir(), 'ascend-deadline-'));
    await withAppAndClient(storeConfig(dir, CORE.replace('fail_mode: closed', `fail_mode: ${mode}`)), { dir }, async (t, c) => {
      // Simulates a shared store that hangs (SQLite answers synchronously and cannot).
      vi.spyOn(t.app.approvals!.approvals, 'requestApproval').mockImplementation(() => new Promise(() => {}));
      const client = c as unknown as { client: grpc.Client & Record<string, (...a: unknown[]) => void> };
      const res = await new Promise<Record<string, any>>((resolve, reject) =>
        client.client.Check!(
          checkRequest({ method: 'POST', path: '/v1/refunds/r-1?amount=5000', headers: { 'x-agent-id': 'billing-agent' } }),
          { deadline: Date.now() + 400 },
          (err: Error | null, r: Record<string, any>) => (err ? reject(err) : resolve(r)),
        ),
      );
      expect(decisionOf(res as never)).toBe(want);
      if (mode === 'closed') expect(JSON.parse(res.denied_response.body)).toMatchObject({ code: 'deadline_exceeded' });
      else expect(res.ok_response.headers.some((h: any) => h.header.key === 'x-ascend-fail-open')).toBe(true);
    });
  });
});
