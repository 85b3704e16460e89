import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IssueList } from './errors.js';
import { resolveSecret, type SecretRef } from './secrets.js';

const dir = mkdtempSync(join(tmpdir(), 'ascend-secret-'));
writeFileSync(join(dir, 'plain'), 's3cret');
writeFileSync(join(dir, 'echoed'), 's3cret\n');
writeFileSync(join(dir, 'crlf'), 's3cret\r\n');
writeFileSync(join(dir, 'two-lines'), 's3cret\n\n');
writeFileSync(join(dir, 'empty'), '\n');

function resolve(ref: SecretRef, env: NodeJS.ProcessEnv = {}): { value: string | undefined; issues: string[] } {
  const issues = new IssueList();
  const value = resolveSecret(ref, { source: join(dir, 'config.yaml'), env }, issues, ['x', 'token']);
  return { value, issues: issues.items.map((i) => `${i.path}: ${i.message}`) };
}

describe('resolveSecret', () => {
  it.each([
    ['a literal', 's3cret', {}, 's3cret'],
    ['an environment variable', { env: 'TOKEN' }, { TOKEN: 's3cret' }, 's3cret'],
    ['a file, absolute', { file: join(dir, 'plain') }, {}, 's3cret'],
    ['a file, relative to the config file', { file: 'plain' }, {}, 's3cret'],
    ['a file ending in one newline', { file: 'echoed' }, {}, 's3cret'],
    ['a file ending in CRLF', { file: 'crlf' }, {}, 's3cret'],
    ['a file ending in two newlines keeps one', { file: 'two-lines' }, {}, 's3cret\n'],
  ] as const)('%s', (_what, ref, env, value) => {
    expect(resolve(ref, env)).toEqual({ value, issues: [] });
  });

  it.each([
    ['a missing variable', { env: 'TOKEN' }, {}, 'x.token.env: environment variable TOKEN is not set or empty'],
    ['an empty variable', { env: 'TOKEN' }, { TOKEN: '' }, 'x.token.env: environment variable TOKEN is not set or empty'],
    ['a missing file', { file: 'nope' }, {}, `x.token.file: cannot read ${join(dir, 'nope')}: file not found`],
    ['an empty file', { file: 'empty' }, {}, `x.token.file: ${join(dir, 'empty')} is empty`],
  ] as const)('%s is an issue naming the field', (_what, ref, env, issue) => {
    expect(resolve(ref, env)).toEqual({ value: undefined, issues: [issue] });
  });
});
