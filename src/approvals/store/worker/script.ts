/**
 * Where the store worker's entry script is. A worker runs JavaScript from a file, and Node 20
 * cannot strip TypeScript types, so it is always the compiled `host.js`:
 *
 * - from dist/ (production, `node dist/cli.js`): the host.js beside this module;
 * - from src/ (vitest imports the .ts sources and builds the app in-process): the compiled copy
 *   at the same place under dist/, which `npm test` builds first (`npm run build`). A copy that
 *   is missing, or older than a source file of the store, is refused with the fix in the message,
 *   so a test never runs SQL that is not the source's.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function hostScript(from: string = import.meta.url): URL {
  const here = fileURLToPath(from);
  if (here.endsWith('.js')) return new URL('./host.js', from);
  const at = here.lastIndexOf('/src/');
  if (at < 0) throw new Error(`store worker: cannot place ${here} in a src/ tree to find its compiled host.js`);
  const root = here.slice(0, at);
  const script = join(root, 'dist', dirname(here.slice(at + '/src/'.length)), 'host.js');
  if (!existsSync(script)) throw new Error(`store worker: ${script} is missing; run \`npm run build\` (tests run the compiled worker)`);
  const storeSources = join(root, 'src', 'approvals', 'store');
  const newest = newestSource(storeSources);
  if (newest.mtimeMs > statSync(script).mtimeMs) {
    throw new Error(`store worker: ${script} is older than ${newest.path}; run \`npm run build\` (tests run the compiled worker)`);
  }
  return pathToFileURL(script);
}

/** The most recently changed .ts source (tests excluded) under dir. */
function newestSource(dir: string): { path: string; mtimeMs: number } {
  let newest = { path: dir, mtimeMs: 0 };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    const candidate = e.isDirectory() ? newestSource(path)
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? { path, mtimeMs: statSync(path).mtimeMs } : newest;
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}
