/**
 * Compile a TypeScript entry (and what it imports) to JavaScript that a child process can run:
 * vitest transforms TS only inside its own workers, and Node 20 cannot strip types.
 * Output goes under node_modules/.cache so the compiled files resolve the project's packages.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Returns the compiled entry and the build folder (remove it when done). */
export function compileForChild(entry: string): { file: string; dir: string } {
  const outDir = join(ROOT, 'node_modules', '.cache', 'ascend-test-build', `${process.pid}-${Date.now()}`);
  mkdirSync(outDir, { recursive: true });
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  const r = spawnSync(tsc, [
    '--ignoreConfig', '--outDir', outDir, '--rootDir', ROOT, '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--sourceMap', 'false', resolve(ROOT, entry),
  ], { encoding: 'utf8' });
  const out = join(outDir, relative(ROOT, resolve(ROOT, entry)).replace(/\.ts$/, '.js'));
  if (!existsSync(out)) throw new Error(`tsc did not emit ${out}:\n${r.stdout}\n${r.stderr}`);
  // Package scope lookup stops at node_modules, so say "ESM" here.
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
  return { file: out, dir: outDir };
}
