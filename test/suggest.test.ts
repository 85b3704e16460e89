/**
 * Smart rules (issue 18 item 5): `ascend-sidecar suggest --from` a real decision log and
 * `--store` the real audit trail (SQLite file), and GET /api/smart-rules/suggestions, after real
 * checks through a gRPC client. Suggestions are YAML, never written into the config.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startApp } from './helpers/app.js';
import { call, KEYS, storeConfig } from './helpers/api.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { runCli } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const QUICKSTART = new URL('../examples/quickstart.yaml', import.meta.url).pathname;
const CORE = readFileSync(QUICKSTART, 'utf8');

const cli = (...args: string[]) => runCli(args);

describe('smart rules', { timeout: 120_000 }, () => {
  it('suggest --from a decision log: frequent default denials, unused allows; --out; nothing to say is exit 0', async () => {
    const t = await startApp(CORE);
    const client = new AuthzClient(t.grpcPort);
    try {
      for (let i = 0; i < 6; i++) expect(decisionOf(await client.check({ method: 'DELETE', path: `/v1/customers/c-${i}`, headers: { 'x-agent-id': 'crawler' } }))).toBe('denied');
      await client.check({ method: 'GET', path: '/v1/orders/o-1', headers: { 'x-agent-id': 'crawler' } });
    } finally {
      client.close();
      await t.close();
    }
    const dir = tempDir('ascend-suggest-');
    const log = join(dir, 'decisions.jsonl');
    writeFileSync(log, `${t.logs.map((l) => JSON.stringify(l)).join('\n')}\nnot json\n`);
    const r = await cli('suggest', '--from', log, '--config', QUICKSTART);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# ascend-sidecar suggest: \d+ suggestions? from .*7 decisions, \d+ other lines skipped/);
    const doc = parse(r.stdout) as { suggestions: any[] };
    const denial = doc.suggestions.find((s) => s.kind === 'frequent_denial');
    expect(denial).toMatchObject({ action_type: 'http.delete', agent_id: 'crawler', suggested_policy: { action: 'deny', conditions: { action_type: 'http.delete', agent_id: 'crawler' } }, evidence: { count: 6 } });
    expect(typeof denial.evidence.since).toBe('string');
    expect(doc.suggestions.filter((s) => s.kind === 'unused_allow').map((s) => s.suggested_policy.id)).toEqual(['pol_refund_small']);
    // The config file is untouched.
    expect(readFileSync(QUICKSTART, 'utf8')).toBe(CORE);

    const out = join(dir, 'suggestions.yaml');
    expect((await cli('suggest', '--from', log, '--out', out)).stdout).toBe('');
    expect(parse(readFileSync(out, 'utf8')).suggestions.length).toBeGreaterThan(0);
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const none = await cli('suggest', '--from', empty);
    expect(none.code).toBe(0);
    expect(parse(none.stdout)).toEqual({ suggestions: [] });
    expect((await cli('suggest')).code).toBe(2);
  });

  it('the audit trail: GET /api/smart-rules/suggestions and suggest --store', async () => {
    const dir = tempDir('ascend-suggest-store-');
    const t = await startApp(storeConfig(dir, CORE), { dir });
    const client = new AuthzClient(t.grpcPort);
    try {
      for (let i = 0; i < 5; i++) await client.check({ method: 'DELETE', path: `/v1/customers/c-${i}`, headers: { 'x-agent-id': 'crawler' } });
      const body = await waitFor(async () => {
        const r = await call(t.url(''), 'GET', '/api/smart-rules/suggestions?since=1h', KEYS.viewer);
        return r.status === 200 && r.body.decisions >= 5 ? r.body : undefined;
      });
      expect(body.suggestions.find((s: any) => s.kind === 'frequent_denial')).toMatchObject({ action_type: 'http.delete', evidence: { count: 5 } });
      expect((await call(t.url(''), 'GET', '/api/smart-rules/suggestions?since=soon', KEYS.viewer)).status).toBe(400);
    } finally {
      client.close();
      await t.close();
    }
    const r = await cli('suggest', '--config', t.configPath, '--store', '--since', '1d', '--min-count', '5');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parse(r.stdout).suggestions.find((s: any) => s.kind === 'frequent_denial')).toMatchObject({ agent_id: 'crawler', evidence: { count: 5 } });
  });
});
