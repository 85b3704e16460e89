import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/tmp.js';
import { IssueList } from './errors.js';
import { resolveSecret } from './secrets.js';

const AT = ['api_keys', 2, 'signing_secret'];
const dir = tempDir('ascend-secrets-');

function resolve(value: Parameters<typeof resolveSecret>[0], env: Record<string, string> = {}) {
  const issues = new IssueList();
  return { value: resolveSecret(value, AT, issues, { env }), issues: issues.items.map((i) => `${i.path}: ${i.message}`) };
}

describe('resolveSecret', () => {
  it('takes a literal as it is', () => {
    expect(resolve('s3cr3t')).toEqual({ value: 's3cr3t', issues: [] });
  });

  it('reads an environment variable and names the field when it is missing or empty', () => {
    expect(resolve({ env: 'SIGNING' }, { SIGNING: 'from-env' })).toEqual({ value: 'from-env', issues: [] });
    expect(resolve({ env: 'NOPE' })).toEqual({ value: undefined, issues: ['api_keys[2].signing_secret.env: environment variable NOPE is not set'] });
    expect(resolve({ env: 'E' }, { E: '' }).issues).toEqual(['api_keys[2].signing_secret.env: environment variable E is empty']);
  });

  it('reads a file, dropping one trailing newline, and names the field when it cannot', () => {
    const path = join(dir, 'secret');
    writeFileSync(path, 'from-file\n');
    expect(resolve({ file: path })).toEqual({ value: 'from-file', issues: [] });
    writeFileSync(path, 'two\n\n');
    expect(resolve({ file: path }).value).toBe('two\n');
    const missing = join(dir, 'missing');
    expect(resolve({ file: missing })).toEqual({ value: undefined, issues: [`api_keys[2].signing_secret.file: cannot read ${missing}: file not found`] });
    writeFileSync(path, '\n');
    expect(resolve({ file: path }).issues).toEqual([`api_keys[2].signing_secret.file: ${path} is empty`]);
  });

  it('reads a relative file from the config file\'s directory, a CRLF ending dropped', () => {
    writeFileSync(join(dir, 'relative'), 'rel\r\n');
    const issues = new IssueList();
    expect(resolveSecret({ file: 'relative' }, AT, issues, { configPath: join(dir, 'config.yaml') })).toBe('rel');
    expect(issues.items).toEqual([]);
  });
});
