/**
 * The console's prebuilt assets (scripts/build-console.mjs writes them to dist/console/public at
 * `npm run build`): read once when the sidecar starts, served from memory. Nothing is built at
 * start. From src/ (vitest runs the sources) they are the same files under dist/, as for the
 * store worker's script.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

const TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** dist/console/public, whether this module runs from dist/ or from src/. */
export function assetDir(from: string = import.meta.url): string {
  const here = dirname(fileURLToPath(from));
  const at = here.lastIndexOf('/src/');
  return at < 0 ? join(here, 'public') : join(here.slice(0, at), 'dist', 'console', 'public');
}

/** The assets by file name, or undefined when the console was not built (the page says so). */
export function loadAssets(dir: string = assetDir()): ReadonlyMap<string, Asset> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const out = new Map<string, Asset>();
  for (const [name, type] of Object.entries(TYPES)) out.set(name, { body: readFileSync(join(dir, name)), type });
  return out;
}
