/**
 * Secrets in the config: the value itself, `{env: NAME}` (an environment variable, e.g. one
 * Kubernetes fills from a Secret with `secretKeyRef`) or `{file: PATH}` (a mounted secret file;
 * a relative path is read from the config file's directory; one trailing newline is dropped,
 * as `echo` and most secret tools leave one). They are read when the config is compiled — at
 * start, on `validate` and on every reload, so a rotated file takes effect with the next
 * reload — and a missing variable or file is a config error naming the field rather than a
 * secret that silently matches nothing.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Type as T, type Static } from '@sinclair/typebox';
import type { IssueList } from './errors.js';

const closed = { additionalProperties: false } as const;

/** A secret field: the value, `{env: NAME}` or `{file: PATH}`; `description` says what it is for. */
export const SecretSchema = (description: string) => T.Union([
  T.String({ minLength: 1 }),
  T.Object({ env: T.String({ minLength: 1, description: 'An environment variable holding the secret' }) }, closed),
  T.Object({ file: T.String({ minLength: 1, description: 'A file holding the secret (one trailing newline is dropped); relative to the config file; re-read on reload' }) }, closed),
], { description: `${description}. The value, {env: NAME} or {file: PATH}` });

export type SecretConfig = Static<ReturnType<typeof SecretSchema>>;

/**
 * A secret whose value has a fixed shape (a hex digest): the value must match `pattern` when
 * given inline (the schema says so), and is checked again after it is read from a variable or
 * a file.
 */
export const PatternSecretSchema = (description: string, pattern: string) => T.Union([
  T.String({ pattern }),
  T.Object({ env: T.String({ minLength: 1, description: 'An environment variable holding the value' }) }, closed),
  T.Object({ file: T.String({ minLength: 1, description: 'A file holding the value (one trailing newline is dropped); relative to the config file; re-read on reload' }) }, closed),
], { description: `${description}. The value, {env: NAME} or {file: PATH}` });

export interface SecretSources {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The config file: relative `file:` paths are read from its directory. */
  readonly configPath?: string;
  readonly readFile?: (path: string) => string;
}

type Path = readonly (string | number)[];

function why(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES') return 'permission denied';
  return code ?? (e as Error).message;
}

/** The secret's value; undefined (and an issue at `at`) when it cannot be read or is empty. */
export function resolveSecret(value: SecretConfig, at: Path, issues: IssueList, sources: SecretSources = {}): string | undefined {
  if (typeof value === 'string') return value;
  if ('env' in value) {
    const v = (sources.env ?? process.env)[value.env];
    if (v === undefined) issues.add([...at, 'env'], `environment variable ${value.env} is not set`);
    else if (v === '') issues.add([...at, 'env'], `environment variable ${value.env} is empty`);
    return v || undefined;
  }
  const path = sources.configPath === undefined ? value.file : resolve(dirname(sources.configPath), value.file);
  let text: string;
  try {
    text = (sources.readFile ?? ((p) => readFileSync(p, 'utf8')))(path);
  } catch (e) {
    issues.add([...at, 'file'], `cannot read ${path}: ${why(e)}`);
    return undefined;
  }
  const v = text.replace(/\r?\n$/, '');
  if (v === '') issues.add([...at, 'file'], `${path} is empty`);
  return v || undefined;
}
