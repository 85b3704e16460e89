/**
 * Route path templates over canonical path segments:
 * `/v1/refunds/{refund_id}` (a capture is one non-empty segment), `*` (any one segment),
 * `**` (zero or more segments, at most once per template), and literal segments that may
 * contain `*` globs (`report-*.csv`). Matching splits nothing but the request path, once.
 */
import { compileGlob, hasWildcard } from '../policy/glob.js';

type Seg =
  | { kind: 'literal'; value: string }
  | { kind: 'glob'; test: (s: string) => boolean }
  | { kind: 'capture'; name: string }
  | { kind: 'any' };

export interface PathTemplate {
  readonly source: string;
  readonly captures: ReadonlySet<string>;
  /** The first segment when it is a literal: the route index buckets on it. */
  readonly firstLiteral: string | undefined;
  match(segments: readonly string[]): Record<string, string> | undefined;
}

function splitTemplate(source: string): string[] {
  return source.split('/').filter((s) => s !== '');
}

function compileSegment(raw: string): Seg | string {
  const cap = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(raw);
  if (cap) return { kind: 'capture', name: cap[1] as string };
  if (raw.includes('{') || raw.includes('}')) return `a capture must be a whole segment like {name}, got "${raw}"`;
  if (raw === '*') return { kind: 'any' };
  if (raw.includes('**')) return `"**" must be a whole segment, got "${raw}"`;
  return hasWildcard(raw) ? { kind: 'glob', test: compileGlob(raw) } : { kind: 'literal', value: raw };
}

function matchSeg(seg: Seg, value: string, out: Record<string, string>): boolean {
  switch (seg.kind) {
    case 'literal':
      return seg.value === value;
    case 'glob':
      return seg.test(value);
    case 'any':
      return true;
    case 'capture':
      out[seg.name] = value;
      return true;
  }
}

/**
 * Splits a canonical path into segments: `/a/b` → `['a', 'b']`, `/` → `[]`. The last path's
 * segments are kept (frozen, shared): a gateway checks the same few paths over and over, and
 * route matching only reads them.
 */
export function pathSegments(path: string): readonly string[] {
  if (path === lastPath) return lastSegments;
  const segments = Object.freeze(path === '/' ? [] : path.slice(1).split('/'));
  lastPath = path;
  lastSegments = segments;
  return segments;
}

let lastPath = '/';
let lastSegments: readonly string[] = Object.freeze([]);

export function compilePathTemplate(source: string): PathTemplate | string {
  if (!source.startsWith('/')) return 'path must start with "/"';
  const raw = splitTemplate(source);
  const deep = raw.indexOf('**');
  if (deep !== -1 && raw.indexOf('**', deep + 1) !== -1) return '"**" may appear only once in a path';
  const head: Seg[] = [];
  const tail: Seg[] = [];
  const captures = new Set<string>();
  for (let i = 0; i < raw.length; i++) {
    if (i === deep) continue;
    const seg = compileSegment(raw[i] as string);
    if (typeof seg === 'string') return seg;
    if (seg.kind === 'capture') {
      if (captures.has(seg.name)) return `capture {${seg.name}} appears twice`;
      captures.add(seg.name);
    }
    (deep !== -1 && i > deep ? tail : head).push(seg);
  }
  const first = head[0];
  return {
    source,
    captures,
    firstLiteral: first?.kind === 'literal' ? first.value : deep === 0 ? undefined : head.length === 0 ? '' : undefined,
    match(segments: readonly string[]) {
      const n = segments.length;
      if (deep === -1 ? n !== head.length : n < head.length + tail.length) return undefined;
      const out: Record<string, string> = {};
      for (let i = 0; i < head.length; i++) if (!matchSeg(head[i] as Seg, segments[i] as string, out)) return undefined;
      const offset = n - tail.length;
      for (let i = 0; i < tail.length; i++) if (!matchSeg(tail[i] as Seg, segments[offset + i] as string, out)) return undefined;
      return out;
    },
  };
}
