/**
 * `{name}` templates for resources, parameters and context: `refund/{refund_id}`,
 * `{host}{path}`, `{query.amount}`. Compiled once; rendering is a loop over parts.
 *
 * Names: route captures, `path`, `host`, `method`, `scheme`, `query.NAME`, `header.NAME`,
 * `agent_id`, and the gateway facts `route`, `service`, `consumer`.
 * A template that is exactly one placeholder yields the raw value (absent stays absent, a
 * repeated query key stays a list); mixed templates yield a string (absent → "").
 */
import type { GatewayRequest } from '../gateway/request.js';

export interface TemplateScope {
  readonly req: GatewayRequest;
  readonly captures: Readonly<Record<string, string>>;
  readonly agentId: string | null;
}

type Part = string | ((s: TemplateScope) => unknown);

export interface Template {
  readonly source: string;
  render(scope: TemplateScope): unknown;
  renderString(scope: TemplateScope): string;
}

const PLACEHOLDER = /\{([A-Za-z0-9_.-]+)\}/g;
const BUILTINS = 'path, host, method, scheme, agent_id, route, service, consumer, query.NAME, header.NAME';

function resolver(name: string, captures: ReadonlySet<string>): ((s: TemplateScope) => unknown) | string {
  if (captures.has(name)) return (s) => s.captures[name];
  const dot = name.indexOf('.');
  if (dot !== -1) {
    const ns = name.slice(0, dot);
    const key = name.slice(dot + 1);
    // Read query keys are stored under their lower-case name (gateway/query.ts).
    if (ns === 'query') {
      const q = key.toLowerCase();
      return (s) => s.req.query[q];
    }
    if (ns === 'header') {
      const h = key.toLowerCase();
      return (s) => s.req.headers[h];
    }
  }
  switch (name) {
    case 'path':
      return (s) => s.req.path;
    case 'host':
      return (s) => s.req.host;
    case 'method':
      return (s) => s.req.method;
    case 'scheme':
      return (s) => s.req.scheme;
    case 'agent_id':
      return (s) => s.agentId ?? undefined;
    case 'route':
      return (s) => s.req.facts?.route;
    case 'service':
      return (s) => s.req.facts?.service;
    case 'consumer':
      return (s) => s.req.facts?.consumer?.username ?? s.req.facts?.consumer?.id;
    default:
      return `unknown placeholder {${name}}; use a path capture or one of ${BUILTINS}`;
  }
}

function asString(v: unknown): string {
  if (v === undefined || v === null) return '';
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** Compiles a template; returns an error message for an unknown placeholder. */
export function compileTemplate(source: string, captures: ReadonlySet<string>): Template | string {
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const r = resolver(m[1] as string, captures);
    if (typeof r === 'string') return r;
    if (m.index > last) parts.push(source.slice(last, m.index));
    parts.push(r);
    last = m.index + m[0].length;
  }
  if (last < source.length) parts.push(source.slice(last));
  const only = parts.length === 1 ? parts[0] : undefined;
  if (parts.every((p) => typeof p === 'string')) {
    return { source, render: () => source, renderString: () => source };
  }
  const renderString = (s: TemplateScope): string => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : asString(p(s));
    return out;
  };
  return {
    source,
    render: typeof only === 'function' ? only : renderString,
    renderString: typeof only === 'function' ? (s) => asString(only(s)) : renderString,
  };
}
