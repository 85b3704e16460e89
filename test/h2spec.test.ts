/**
 * h2spec 2.0.0 (the standard HTTP/2 conformance suite), strict, against the h2 transport, and
 * against node:http2 (the `native` transport) in the same run. A case may fail on h2 only if it
 * fails twice (the whole run, then alone) and test/conformance/h2spec-allow.txt lists it with
 * the reason it is an artifact of h2spec's plain GET requests; no case may fail on h2 that
 * passes on node:http2.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { describeWith, systemTool } from './helpers/tools.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const on = (transport: string) => CORE.replace('server: {grpc_port: 9191, http_port: 8181}', `server: {grpc_port: 9191, http_port: 8181, grpc_transport: ${transport}}`);
const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

type Outcome = 'pass' | 'fail' | 'skip';

/** JUnit XML from h2spec → outcome per case id (`http2/5.1 #5`: the group and the case's number in it). */
export function parseJunit(xml: string): Map<string, Outcome> {
  const out = new Map<string, Outcome>();
  const counts = new Map<string, number>();
  for (const m of xml.matchAll(/<testcase package="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const group = m[1] as string;
    const n = (counts.get(group) ?? 0) + 1;
    counts.set(group, n);
    const body = m[2] ?? '';
    out.set(`${group} #${n}`, /<(error|failure)\b/.test(body) ? 'fail' : /<skipped\b/.test(body) ? 'skip' : 'pass');
  }
  return out;
}

/** The allow list: case id → its line. */
function allowList(): Map<string, string> {
  const text = readFileSync(new URL('./conformance/h2spec-allow.txt', import.meta.url), 'utf8');
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^(\S+ #\d+) RFC \d+ [\d.]+: \S/.exec(line);
    if (m === null) throw new Error(`h2spec-allow.txt: not "<id> <RFC section>: <why>": ${line}`);
    out.set(m[1] as string, line);
  }
  return out;
}

/** Runs h2spec (strict) on `port`: every case, or the `cases` given (`http2/5.1/5`; their report numbers them afresh). */
async function h2spec(port: number, cases: string[] = []): Promise<Map<string, Outcome>> {
  const report = join(mkdtempSync(join(tmpdir(), 'h2spec-')), 'report.xml');
  const bin = systemTool('h2spec').path as string;
  // h2spec exits 1 when a case fails; the report says which.
  await promisify(execFile)('nice', ['-n', '10', bin, ...cases, '-h', '127.0.0.1', '-p', String(port), '-P', CHECK_PATH, '-S', '-o', '2', '-j', report], { maxBuffer: 8 << 20 }).catch(() => {});
  return parseJunit(readFileSync(report, 'latin1'));
}

describeWith('h2spec', 'h2spec 2.0.0 strict against the h2 transport', () => {
  let h2: TestApp;
  let native: TestApp;
  beforeAll(async () => {
    [h2, native] = await Promise.all([startApp(on('h2')), startApp(on('native'))]);
  });
  afterAll(async () => {
    await Promise.all([h2?.close(), native?.close()]);
  });

  it('fails no case but the listed artifacts, and none that node:http2 passes', async () => {
    const [ours, theirs] = await Promise.all([h2spec(h2.grpcPort), h2spec(native.grpcPort)]);
    expect(ours.size).toBeGreaterThanOrEqual(147);
    const failedOnce = [...ours].filter(([, o]) => o === 'fail').map(([id]) => id);
    // A case counts as failing when it fails twice: each failure runs again, alone.
    const failing: string[] = [];
    for (const id of failedOnce) {
      const alone = await h2spec(h2.grpcPort, [id.replace(' #', '/')]);
      if ([...alone.values()][0] !== 'pass') failing.push(id);
    }
    const allowed = allowList();
    expect(failing.filter((id) => !allowed.has(id)), 'failing on h2 and not in h2spec-allow.txt').toEqual([]);
    expect(failing.filter((id) => theirs.get(id) === 'pass'), 'failing on h2, passing on node:http2').toEqual([]);
    expect([...allowed.keys()].filter((id) => theirs.get(id) === 'pass'), 'listed, but node:http2 passes it').toEqual([]);
    expect([...allowed.keys()].filter((id) => ours.get(id) !== 'fail'), 'listed, but h2 passes it (remove the line)').toEqual([]);
  }, 180_000);
});
