/**
 * `ascend-sidecar test FILE...` and the request-file checks it shares with `check` (issue 18
 * item 4), through the built CLI as a user runs it: exit codes 0 / 1 / 2, JUnit XML, coverage,
 * the three request shapes, and unknown fields refused.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/process.js';

const example = (p: string) => new URL(`../examples/${p}`, import.meta.url).pathname;

const cli = (...args: string[]) => runCli(args);

/** A test file next to a copy of nothing: `config:` points at the examples by absolute path. */
function testFile(yaml: string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ascend-policy-tests-'));
  const path = join(dir, 'suite.test.yaml');
  writeFileSync(path, yaml);
  return { dir, path };
}

// Each case starts a node process (seconds on a loaded 2-vCPU machine): generous timeouts.
describe('ascend-sidecar test', { timeout: 120_000 }, () => {
  it('runs the example suites: every test passes, exit 0, coverage complete', async () => {
    const r = await cli('test', example('tests/quickstart.test.yaml'), example('tests/mcp.test.yaml'), '--coverage');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  ok    large refunds need approval');
    expect(r.stdout).toContain('  ok    a batch with a delete is denied');
    expect(r.stdout).toContain('every policy and route matched by a test');
    expect(r.stdout).toMatch(/^11 passed, 0 failed$/m);
  });

  it('a failed expectation: exit 1, the difference printed and in the JUnit XML', async () => {
    const { dir, path } = testFile(`config: ${example('quickstart.yaml')}
tests:
  - name: small refund allowed
    request: {method: POST, path: "/v1/refunds/r-1?amount=5", headers: {x-agent-id: billing-agent}}
    expect: {decision: allowed}
  - name: "wrong <on purpose> & quoted"
    request: {method: POST, path: "/v1/refunds/r-1?amount=5000", headers: {x-agent-id: billing-agent}}
    expect: {decision: allowed, policy_id: pol_refund_small, risk_score: {lte: 10}}
`);
    const junit = join(dir, 'junit.xml');
    const r = await cli('test', path, '--junit', junit);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL  wrong <on purpose> & quoted: decision: expected allowed, got pending; policy_id: expected pol_refund_small, got pol_refund_large; risk_score: expected ≤ 10');
    expect(r.stdout).toMatch(/^1 passed, 1 failed$/m);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuites name="ascend-sidecar test" tests="2" failures="1" errors="0">');
    expect(xml).toContain('<testcase classname="');
    expect(xml).toContain('name="wrong &#60;on purpose&#62; &#38; quoted">');
    expect(xml).toMatch(/<failure message="decision: expected allowed, got pending; /);
  });

  it('--coverage names the policies and routes no test matched; --config overrides the file', async () => {
    const { path } = testFile(`config: /nonexistent.yaml
tests:
  - name: orders
    request: {method: GET, path: /v1/orders/o-1, headers: {x-agent-id: crawler}}
    expect: {decision: allowed}
`);
    const r = await cli('test', path, '--config', example('quickstart.yaml'), '--coverage');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('policies no test matched: pol_admin_deny, pol_refund_large, pol_refund_small');
    expect(r.stdout).toContain('routes no test matched: routes[0], routes[2]');
  });

  it('a bad file is exit 2 naming the problem: unknown fields anywhere, no config, a config that does not load', async () => {
    const cases: [string, string][] = [
      ['request: {method: POST, pathh: /v1/refunds/r-1}', 'unknown field "pathh"'],
      ['request: {method: POST, path: /x, heders: {x-agent-id: a}}', 'unknown field "heders"'],
      ['request: {attributes: {request: {http: {method: GET, path: /x, hedaers: {}}}}}', 'unknown field "attributes.request.http.hedaers"'],
      ['request: {input: {request: {http: {method: GET, path: /x, querystrng: {}}}}}', 'unknown field "input.request.http.querystrng"'],
      ['request: {method: GET, path: /x}\n    expect: {decison: denied}', 'unknown field "decison"'],
      ['request: {method: GET}', 'has no "path"'],
    ];
    const results = await Promise.all(cases.map(([body]) => {
      const { path } = testFile(`config: ${example('quickstart.yaml')}\ntests:\n  - name: t\n    ${body}\n${body.includes('expect') ? '' : '    expect: {decision: denied}\n'}`);
      return cli('test', path);
    }));
    cases.forEach(([body, message], i) => {
      expect(results[i]!.code, body).toBe(2);
      expect(results[i]!.stderr, body).toContain(message);
    });
    const noConfig = testFile('tests: [{name: t, request: {path: /}, expect: {decision: denied}}]\n');
    expect((await cli('test', noConfig.path)).stderr).toContain('names no config');
    const badConfig = testFile('config: /nonexistent.yaml\ntests: [{name: t, request: {path: /}, expect: {decision: denied}}]\n');
    const r = await cli('test', badConfig.path);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('file not found');
    expect((await cli('test')).code).toBe(2); // no file: a usage error
  });
});

describe('ascend-sidecar check refuses unknown request fields', { timeout: 120_000 }, () => {
  it('a misspelled key is exit 2, not a silent POST /', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ascend-check-'));
    const file = join(dir, 'req.json');
    writeFileSync(file, JSON.stringify({ method: 'POST', pth: '/v1/refunds/r-1?amount=5000', headers: { 'x-agent-id': 'billing-agent' } }));
    const r = await cli('check', '--config', example('quickstart.yaml'), '--request', file, '--expect', 'denied');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown field "pth"');
    // The bundled request files still pass.
    const files = ['refund-small.json', 'refund-large.json', 'admin-traversal.envoy.json'];
    const codes = await Promise.all(files.map((f) => cli('check', '--config', example('quickstart.yaml'), '--request', example(`requests/${f}`))));
    expect(codes.map((c) => c.code)).toEqual([0, 0, 0]);
  });

  it('reads a body: an MCP call in a request file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ascend-check-'));
    const file = join(dir, 'mcp.json');
    writeFileSync(file, JSON.stringify({ method: 'POST', path: '/mcp/files', headers: { 'x-agent-id': 'a' }, body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_file', arguments: {} } } }));
    const r = await cli('check', '--config', example('mcp.yaml'), '--request', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('decision:   denied');
    expect(r.stdout).toContain('action:     mcp.files.delete_file on delete_file by a');
    expect(r.stdout).toContain('mcp:        1 governed call');
  });
});
