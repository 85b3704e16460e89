/**
 * Secrets in the config: the value itself, `{env: NAME}` (an environment variable) or
 * `{file: PATH}` (a mounted secret file; one trailing newline is dropped, as `echo` and most
 * secret tools leave one). They are read when the config is compiled — at start, on
 * `validate` and on every reload, so a rotated file takes effect with the next reload — and a
 * missing variable or file is a config error naming the field.
 */
import { readFileSync } from 'node:fs';
import { Type as T, type Static } from '@sinclair/typebox';
import type { IssueList } from './errors.js';

const closed = { additionalProperties: false } as const;

/** A secret field: the value, `{env: NAME}` or `{file: PATH}`; `description` says what it is for. */
export const SecretSchema = (description: string) => T.Union([
  T.String({ minLength: 1 }),
  T.Object({ env: T.String({ minLength: 1, description: 'An environment variable holding the secret' }) }, closed),
  T.Object({ file: T.String({ minLength: 1, description: 'A file holding the secret (one trailing newline is dropped)' }) }, closed),
], { description: `${description}. The value, {env: NAME} or {file: PATH}` });

export type SecretConfig = Static<ReturnType<typeof SecretSchema>>;

export interface SecretSources {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

type Path = readonly (string | number)[];

/** The secret's value; undefined (and an issue at `at`) when it cannot be read or is empty. */
export function resolveSecret(value: SecretConfig, at: Path, issues: IssueList, sources: SecretSources = {}): string | undefined {
  if (typeof value === 'string') return value;
  if ('env' in value) {
    const v = (sources.env ?? process.env)[value.env];
    if (v === undefined) issues.add([...at, 'env'], `environment variable ${value.env} is not set`);
    else if (v === '') issues.add([...at, 'env'], `environment variable ${value.env} is empty`);
    return v || undefined;
  }
  let text: string;
  try {
    text = (sources.readFile ?? ((p) => readFileSync(p, 'utf8')))(value.file);
  } catch (e) {
    issues.add([...at, 'file'], `cannot read ${value.file}: ${(e as { code?: string }).code ?? (e as Error).message}`);
    return undefined;
  }
  const v = text.replace(/\r?\n$/, '');
  if (v === '') issues.add([...at, 'file'], `${value.file} is empty`);
  return v || undefined;
}
