/**
 * The files a config names (TLS certificates, keys and CA bundles): a relative path is taken
 * from the config file's folder, and a file that cannot be read is one issue at its field.
 * Shared by the listeners' TLS (listeners/tls.ts), the control plane's (evaluator/client-tls.ts),
 * the bundle keys (runtime.ts) and the config file itself (load.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { IssueList } from './errors.js';

/** `file` as the config at `configPath` names it (no config path: from the working directory). */
export function configRelative(configPath: string | undefined, file: string): string {
  return resolve(configPath === undefined ? process.cwd() : dirname(resolve(configPath)), file);
}

/** Why a file could not be read, in an issue's words. */
export function unreadable(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message;
}

/** The file's bytes; undefined, and `cannot read PATH: why` at `at`, when it cannot be read. */
export function readConfigFile(path: string, at: readonly (string | number)[], issues: IssueList): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    issues.add(at, `cannot read ${path}: ${unreadable(e)}`);
    return undefined;
  }
}
