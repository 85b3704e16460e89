/** `ascend-sidecar hash-key` as a user runs it, and the package entry a webhook receiver imports. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI } from './helpers/process.js';

function hashKey(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = execFile(process.execPath, [CLI, 'hash-key', ...args], (err, stdout, stderr) => resolve({ code: err ? (err as { code: number }).code : 0, stdout, stderr }));
    p.stdin?.end(stdin ?? '');
  });
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('ascend-sidecar hash-key', () => {
  it('prints the SHA-256 hex of a key from stdin (one trailing newline dropped) or --key', async () => {
    expect(await hashKey([], 'k-secret\n')).toEqual({ code: 0, stdout: `${sha('k-secret')}\n`, stderr: '' });
    expect((await hashKey([], 'k-secret')).stdout).toBe(`${sha('k-secret')}\n`);
    expect((await hashKey(['--key', 'k-secret'])).stdout).toBe(`${sha('k-secret')}\n`);
  });

  it('generates a random key and prints it with its hash', async () => {
    const r = await hashKey(['--generate']);
    const m = /^key: +(\S+)\nsha256: ([0-9a-f]{64})\n$/.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(m![1]!.length).toBeGreaterThanOrEqual(40);
    expect(m![2]).toBe(sha(m![1]!));
    expect((await hashKey(['--generate'])).stdout).not.toBe(r.stdout);
  });

  it('refuses an empty key', async () => {
    const r = await hashKey([], '');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the key is empty');
  });
});

describe('package entry', () => {
  it('exports verifyWebhook from dist/index.js (main and exports of package.json)', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { main: string; types: string; exports: Record<string, { import: string; types: string }> };
    expect(pkg.main).toBe('dist/index.js');
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    const entry = (await import(new URL(`../${pkg.main}`, import.meta.url).href)) as Record<string, unknown>;
    expect(typeof entry.verifyWebhook).toBe('function');
    expect(typeof entry.verifyWebhookDetailed).toBe('function');
    expect(readFileSync(new URL(`../${pkg.types}`, import.meta.url), 'utf8')).toContain('verifyWebhook');
  });
});
