/** `validate`: load and compile a config as `serve` would; exit 1 naming every bad field. */
import { ConfigError } from '../config/errors.js';
import { loadRuntimeSync } from '../config/load.js';
import type { Runtime } from '../config/runtime.js';
import { required, type Command } from './command.js';

/** The compiled config, or a ConfigError's message on stderr and exit code 1. */
export function loadConfig(path: string): Runtime | number {
  try {
    return loadRuntimeSync(path, 1);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a config file (exit 1 naming every bad field and its line)',
  usage: '--config FILE',
  help: 'Secrets given as {env: NAME} or {file: PATH} are read too: a missing one is an error.',
  options: { config: { type: 'string', short: 'c' } },
  async run(v) {
    const path = required(v, 'config', validateCommand);
    const rt = loadConfig(path);
    if (typeof rt === 'number') return rt;
    const c = rt.config;
    process.stdout.write(`${path}: OK (${c.policies.length} policies, ${c.routes.length} routes, ${c.agents.length} agents; sha256 ${rt.hash})\n`);
    return 0;
  },
};
