/**
 * A secret in the config: the value itself, `{env: NAME}` (an environment variable, e.g. one
 * Kubernetes fills from a Secret with `secretKeyRef`) or `{file: PATH}` (a mounted Secret
 * file; relative paths are read from the config file's directory). Resolved when the config
 * is compiled, so a reload re-reads the file, and a missing variable or file is a config
 * error naming the field rather than a secret that silently matches nothing.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Type as T, type Static } from '@sinclair/typebox';
import type { IssueList } from './errors.js';

const closed = { additionalProperties: false } as const;

export function SecretSchema(description: string) {
  return T.Union(
    [
      T.String({ minLength: 1 }),
      T.Object({ env: T.String({ minLength: 1, description: 'Name of an environment variable holding the secret' }) }, closed),
      T.Object({ file: T.String({ minLength: 1, description: 'A file holding the secret (one trailing newline is ignored); re-read on reload' }) }, closed),
    ],
    { description },
  );
}

export type SecretRef = Static<ReturnType<typeof SecretSchema>>;

export interface SecretContext {
  /** The config file: relative `file:` paths are read from its directory. */
  source: string;
  env?: NodeJS.ProcessEnv;
}

function readSecretFile(path: string): string {
  // Secret files written by `echo` end with a newline that is not part of the secret.
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

function why(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message;
}

/** The secret's value; undefined (with an issue at `at`) when its variable or file gives none. */
export function resolveSecret(ref: SecretRef, ctx: SecretContext, issues: IssueList, at: readonly (string | number)[]): string | undefined {
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const value = (ctx.env ?? process.env)[ref.env];
    if (value === undefined || value === '') issues.add([...at, 'env'], `environment variable ${ref.env} is not set or empty`);
    return value || undefined;
  }
  const path = resolve(dirname(ctx.source), ref.file);
  let value: string;
  try {
    value = readSecretFile(path);
  } catch (e) {
    issues.add([...at, 'file'], `cannot read ${path}: ${why(e)}`);
    return undefined;
  }
  if (value === '') issues.add([...at, 'file'], `${path} is empty`);
  return value || undefined;
}
