import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { unreadable } from './files.js';
import { runtimeFromText, type Runtime } from './runtime.js';

function readError(path: string, e: unknown): ConfigError {
  return new ConfigError(path, [{ path: '', message: `cannot read config: ${unreadable(e)}` }]);
}

/** Reads and compiles a config file. Throws {@link ConfigError} for unreadable or invalid files. */
export async function loadRuntime(path: string, version: number): Promise<{ runtime: Runtime; text: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw readError(path, e);
  }
  return { runtime: runtimeFromText(text, path, version), text };
}

export function loadRuntimeSync(path: string, version: number): Runtime {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw readError(path, e);
  }
  return runtimeFromText(text, path, version);
}
