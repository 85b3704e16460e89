/**
 * Ordered route rules (first match wins) that turn a request into an action. Routes are
 * bucketed by their first literal path segment so that matching cost stays flat with
 * thousands of routes; each bucket keeps file order, merged with the routes that have no
 * literal first segment.
 */
import type { IssueList } from '../config/errors.js';
import type { RouteConfig } from '../config/schema.js';
import type { GatewayRequest } from '../gateway/request.js';
import { compileValue, type Matcher } from '../policy/conditions.js';
import { compileGlob } from '../policy/glob.js';
import { compileGovern, type GovernTest } from './mcp.js';
import { compilePathTemplate, type PathTemplate } from './path-template.js';
import { compileTemplate, readsBody, type Template, type TemplateOptions } from './template.js';

/** An `mcp` route's compiled options. */
export interface RouteMcp {
  readonly isGoverned: GovernTest;
  readonly maxBatch: number;
  /** No `parameters` configured: the call's arguments are the action's parameters. */
  readonly argumentsAsParameters: boolean;
}

export interface CompiledRoute {
  readonly order: number;
  readonly name: string;
  readonly methods: ReadonlySet<string> | undefined;
  readonly hosts: readonly ((host: string) => boolean)[] | undefined;
  readonly path: PathTemplate | undefined;
  readonly headers: readonly { name: string; test: Matcher }[];
  readonly actionType: Template;
  readonly resource: Template;
  readonly parameters: ValueTemplate;
  readonly context: ValueTemplate;
  /** A template reads `{body…}`. */
  readonly readsBody: boolean;
  /** routes[].body.on_invalid */
  readonly onInvalidBody: 'deny' | 'ignore';
  readonly mcp: RouteMcp | undefined;
}

/** A JSON value whose strings are templates; non-strings pass through unchanged. */
export type ValueTemplate = (scope: Parameters<Template['render']>[0]) => Record<string, unknown>;

function hostMatcher(pattern: string): (host: string) => boolean {
  const p = pattern.toLowerCase();
  const test = compileGlob(p);
  // A pattern without a port matches the host whatever its port.
  if (p.includes(':')) return test;
  return (host) => {
    const colon = host.lastIndexOf(':');
    return test(colon === -1 || host.endsWith(']') ? host : host.slice(0, colon));
  };
}

function compileObject(
  obj: Record<string, unknown>,
  captures: ReadonlySet<string>,
  issues: IssueList,
  at: (string | number)[],
  opts: TemplateOptions,
): ValueTemplate {
  const entries: [string, (s: Parameters<Template['render']>[0]) => unknown][] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'string') {
      const t = compileTemplate(v, captures, opts);
      if (typeof t === 'string') issues.add([...at, k], t);
      else entries.push([k, t.render]);
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const nested = compileObject(v as Record<string, unknown>, captures, issues, [...at, k], opts);
      entries.push([k, nested]);
    } else {
      entries.push([k, () => v]);
    }
  }
  if (entries.length === 0) return () => ({});
  return (scope) => {
    const out: Record<string, unknown> = {};
    for (const [k, render] of entries) {
      const v = render(scope);
      if (v !== undefined) out[k] = v;
    }
    return out;
  };
}

export function compileRoute(r: RouteConfig, order: number, issues: IssueList): CompiledRoute | undefined {
  const at = ['routes', order];
  const before = issues.items.length;
  let path: PathTemplate | undefined;
  if (r.match.path !== undefined) {
    const p = compilePathTemplate(r.match.path);
    if (typeof p === 'string') issues.add([...at, 'match', 'path'], p);
    else path = p;
  }
  const captures = path?.captures ?? new Set<string>();
  const opts: TemplateOptions = { mcp: r.mcp !== undefined };
  const tpl = (source: string, field: string): Template | undefined => {
    const t = compileTemplate(source, captures, opts);
    if (typeof t === 'string') issues.add([...at, field], t);
    return typeof t === 'string' ? undefined : t;
  };
  const actionType = tpl(r.action_type, 'action_type');
  const resource = tpl(r.resource, 'resource');
  const headers: { name: string; test: Matcher }[] = [];
  for (const [name, spec] of Object.entries(r.match.headers ?? {})) {
    const test = compileValue(spec, issues, [...at, 'match', 'headers', name]);
    if (test) headers.push({ name: name.toLowerCase(), test });
  }
  const parameters = compileObject(r.parameters, captures, issues, [...at, 'parameters'], opts);
  const context = compileObject(r.context, captures, issues, [...at, 'context'], opts);
  const sources: string[] = [];
  collectStrings([r.action_type, r.resource, r.parameters, r.context], sources);
  if (issues.items.length !== before || !actionType || !resource) return undefined;
  return {
    order,
    name: r.name ?? `routes[${order}]`,
    methods: r.match.methods ? new Set(r.match.methods.map((m) => m.toUpperCase())) : undefined,
    hosts: r.match.hosts?.map(hostMatcher),
    path,
    headers,
    actionType,
    resource,
    parameters,
    context,
    readsBody: sources.some(readsBody),
    onInvalidBody: r.body.on_invalid,
    mcp: r.mcp === undefined ? undefined : {
      isGoverned: compileGovern(r.mcp.govern),
      maxBatch: r.mcp.max_batch,
      argumentsAsParameters: Object.keys(r.parameters).length === 0,
    },
  };
}

function collectStrings(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) collectStrings(v, out);
}

export interface RouteMatch {
  readonly route: CompiledRoute;
  readonly captures: Record<string, string>;
}

export class RouteTable {
  private readonly byFirst = new Map<string, CompiledRoute[]>();
  private readonly fallback: CompiledRoute[];

  constructor(readonly routes: readonly CompiledRoute[]) {
    const keyed = new Map<string, CompiledRoute[]>();
    this.fallback = [];
    for (const r of routes) {
      const key = r.path?.firstLiteral;
      if (key === undefined) this.fallback.push(r);
      else keyed.set(key, [...(keyed.get(key) ?? []), r]);
    }
    for (const [key, own] of keyed) {
      this.byFirst.set(key, [...own, ...this.fallback].sort((a, b) => a.order - b.order));
    }
  }

  match(req: GatewayRequest, segments: readonly string[]): RouteMatch | undefined {
    const candidates = this.byFirst.get(segments[0] ?? '') ?? this.fallback;
    for (let i = 0; i < candidates.length; i++) {
      const r = candidates[i] as CompiledRoute;
      if (r.methods && !r.methods.has(req.method)) continue;
      // Loops rather than some/every: no closure per candidate, no captures object before a path matches.
      if (r.hosts && !anyHost(r.hosts, req.host)) continue;
      const captures = r.path ? r.path.match(segments) : {};
      if (!captures) continue;
      if (!headersMatch(r.headers, req.headers)) continue;
      return { route: r, captures };
    }
    return undefined;
  }
}

function anyHost(hosts: readonly ((host: string) => boolean)[], host: string): boolean {
  for (let i = 0; i < hosts.length; i++) if ((hosts[i] as (host: string) => boolean)(host)) return true;
  return false;
}

function headersMatch(tests: CompiledRoute['headers'], headers: Record<string, string>): boolean {
  for (let i = 0; i < tests.length; i++) {
    const h = tests[i] as CompiledRoute['headers'][number];
    if (!h.test(headers[h.name])) return false;
  }
  return true;
}
