/**
 * The shape of src/ and the vocabulary it answers with (docs/architecture.md "Dependency rules"): no import cycles, counting
 * `import type` too (a type cycle is still two modules that cannot be understood apart), and the
 * leaves stay leaves — core/ imports nothing outside core/.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /^\s*(?:import|export)\s[^'";]*?from\s+'(\.{1,2}\/[^']+)'/gm;

/** file (relative to src/) → the files it imports, relative to src/. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const deps = [...text.matchAll(IMPORT)].map((m) => relative(SRC, join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
    graph.set(relative(SRC, file), deps);
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('import graph of src/', () => {
  const graph = importGraph();

  it('reads the imports (the parser finds edges)', () => {
    expect(graph.get('mapping/identity.ts')).toContain('core/action.ts');
  });

  it('detects a cycle when there is one', () => {
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']], ['c.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts']]);
  });

  it('has no import cycles, type imports included', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('docs/architecture.md names every failure code of core/errors.ts', () => {
    const unions = readFileSync(join(SRC, 'core/errors.ts'), 'utf8').split('export class')[0]!.replace(/\/\*\*[\s\S]*?\*\//g, '');
    const codes = [...unions.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
    const doc = readFileSync(join(SRC, '..', 'docs', 'architecture.md'), 'utf8');
    expect(codes.length).toBeGreaterThan(40);
    expect(codes.filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
  });

  it('grpc/ (the generic gRPC/HTTP/2 transport) imports nothing from the domain: only grpc/ and the listeners\' caps and TLS', () => {
    const outside = [...graph]
      .filter(([file]) => file.startsWith('grpc/'))
      .flatMap(([file, deps]) => deps.filter((d) => !d.startsWith('grpc/') && !d.startsWith('listeners/')).map((d) => `${file} → ${d}`));
    expect(outside).toEqual([]);
  });

  it('core/ imports nothing outside core/', () => {
    const outside = [...graph]
      .filter(([file]) => file.startsWith('core/'))
      .flatMap(([file, deps]) => deps.filter((d) => !d.startsWith('core/')).map((d) => `${file} → ${d}`));
    expect(outside).toEqual([]);
  });
});
