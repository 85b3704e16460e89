/**
 * Shared pieces of the deploy/ tests: the folder, its YAML/JSON files, and the external tools
 * (promtool, kubectl kustomize) run as child processes.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEPLOY = join(ROOT, 'deploy');

export function deployPath(...parts: string[]): string {
  return join(DEPLOY, ...parts);
}

/** Every file under deploy/, relative to it. */
export function deployFiles(dir = DEPLOY): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...deployFiles(p));
    else out.push(relative(DEPLOY, p));
  }
  return out.sort();
}

/** Parses a (multi-document) YAML file strictly: any error or warning fails. */
export function yamlDocs(file: string): unknown[] {
  const text = readFileSync(file, 'utf8');
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(docs)) return [];
  const problems = docs.flatMap((d) => [...d.errors, ...d.warnings].map((e) => e.message));
  if (problems.length > 0) throw new Error(`${relative(ROOT, file)}:\n${problems.join('\n')}`);
  return docs.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown).filter((d) => d !== null && d !== undefined);
}

export function yamlDoc<T = Record<string, unknown>>(file: string): T {
  const docs = yamlDocs(file);
  if (docs.length !== 1) throw new Error(`${relative(ROOT, file)}: expected one YAML document, found ${docs.length}`);
  return docs[0] as T;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): RunResult {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, input: opts.input, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** promtool (callers sit inside describeWith('promtool', ...)). */
export function promtool(args: string[], opts: { cwd?: string; input?: string } = {}): RunResult {
  return run('promtool', args, opts);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
