/**
 * The server's log writers as they really run (a child process, batched byte chunks on
 * sonic-boom): every check is one well-formed line in the decision log and in the SIEM stream,
 * whether they go to files or share stdout with the logger, and nothing is lost on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeConfig } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { spawnSidecar } from './helpers/process.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const N = 600;

async function drive(port: number): Promise<void> {
  const c = new AuthzClient(port, { ownConnection: true });
  try {
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          // Non-ASCII and quotes in the path: the byte writer must escape exactly as JSON does.
          c.check({ method: 'GET', path: `/v1/orders/${i + k}-%C3%A9%22`, headers: { 'x-agent-id': 'billing-agent' } }),
        ),
      );
      expect(batch.map(decisionOf).every((d) => d === 'allowed')).toBe(true);
    }
  } finally {
    c.close();
  }
}

const parse = (text: string) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('log writers in the server process', () => {
  it('writes one JSON line per check to the decision-log and SIEM files, flushed on SIGTERM', async () => {
    const { dir, path } = writeConfig(CORE);
    const dl = join(dir, 'logs', 'decisions.jsonl');
    const siem = join(dir, 'logs', 'siem.jsonl');
    writeConfig(`${CORE}\ndecision_log: {path: ${dl}}\naudit_stream: {enabled: true, path: ${siem}}\n`, dir);
    const s = await spawnSidecar(path, ['--no-watch']);
    await drive(s.grpcPort);
    expect(await s.stop('SIGTERM')).toBe(0);
    const decisions = parse(readFileSync(dl, 'utf8'));
    const audit = parse(readFileSync(siem, 'utf8'));
    expect(decisions).toHaveLength(N);
    expect(audit).toHaveLength(N);
    expect(decisions.every((l) => l.kind === 'decision' && l.decision === 'allowed' && l.msg === 'decision')).toBe(true);
    expect(new Set(decisions.map((l) => l.action_id)).size).toBe(N);
    expect(decisions.map((l) => l.path)).toContain('/v1/orders/0-é"');
    expect(audit.every((l) => l.kind === 'audit' && l.type === 'decision')).toBe(true);
    // Nothing of either went to stdout.
    expect(s.lines.filter((l) => l.kind === 'decision' || l.kind === 'audit')).toEqual([]);
  });

  it('interleaves whole lines when the decision log, SIEM stream and logger share stdout', async () => {
    const { path } = writeConfig(`${CORE}\naudit_stream: {enabled: true}\n`);
    const s = await spawnSidecar(path, ['--no-watch']);
    await drive(s.grpcPort);
    expect(await s.stop('SIGTERM')).toBe(0);
    // spawnSidecar keeps a line it could not parse as {msg: text}: there must be none.
    expect(s.lines.filter((l) => Object.keys(l).length === 1 && 'msg' in l)).toEqual([]);
    expect(s.lines.filter((l) => l.kind === 'decision')).toHaveLength(N);
    expect(s.lines.filter((l) => l.kind === 'audit')).toHaveLength(N);
    expect(s.lines.some((l) => l.msg === 'stopped')).toBe(true);
  });
});
