/**
 * `{name}` templates for resources, parameters and context: `refund/{refund_id}`,
 * `{host}{path}`, `{query.amount}`. Compiled once; rendering is a loop over parts.
 *
 * Names: route captures, `path`, `host`, `method`, `scheme`, `query.NAME`, `header.NAME`,
 * `agent_id`, the gateway facts `route`, `service`, `consumer`, the parsed request body
 * `body` / `body.PATH` (gateway/body.ts), and on `mcp` routes the call's `mcp.method`,
 * `mcp.tool`, `mcp.uri`, `mcp.prompt` (mapping/mcp.ts).
 * A template that is exactly one placeholder yields the raw value (absent stays absent, a
 * repeated query key stays a list); mixed templates yield a string (absent → "").
 */
import { digBody, readBody, type RequestBody } from '../gateway/body.js';
import type { GatewayRequest } from '../gateway/request.js';
import type { McpCall } from './mcp.js';

export interface TemplateScope {
  readonly req: GatewayRequest;
  readonly captures: Readonly<Record<string, string>>;
  readonly agentId: string | null;
  readonly body?: RequestBody | undefined;
  /** The JSON-RPC call being mapped, on an `mcp` route. */
  readonly mcp?: McpCall | undefined;
}

export interface TemplateOptions {
  /** The route is an `mcp` route: `{mcp.*}` names are known. */
  readonly mcp?: boolean;
}

const MCP_FIELDS = new Set(['method', 'tool', 'uri', 'prompt']);

type Part = string | ((s: TemplateScope) => unknown);

export interface Template {
  readonly source: string;
  render(scope: TemplateScope): unknown;
  renderString(scope: TemplateScope): string;
}

const PLACEHOLDER = /\{([A-Za-z0-9_.-]+)\}/g;
const BUILTINS = 'path, host, method, scheme, agent_id, route, service, consumer, query.NAME, header.NAME, body, body.PATH, mcp.method|tool|uri|prompt (mcp routes)';

function resolver(name: string, captures: ReadonlySet<string>, opts: TemplateOptions): ((s: TemplateScope) => unknown) | string {
  if (captures.has(name)) return (s) => s.captures[name];
  if (name === 'body') return (s) => readBody(s.body);
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
    if (ns === 'body') {
      const keys = key.split('.');
      if (keys.some((k) => k === '')) return `invalid placeholder {${name}}`;
      return (s) => digBody(readBody(s.body), keys);
    }
    if (ns === 'mcp') {
      if (!MCP_FIELDS.has(key)) return `unknown placeholder {${name}}; an mcp route knows {mcp.method}, {mcp.tool}, {mcp.uri}, {mcp.prompt}`;
      if (opts.mcp !== true) return `{${name}} needs a route with mcp: {} (the body is MCP JSON-RPC)`;
      const field = key as 'method' | 'tool' | 'uri' | 'prompt';
      return (s) => s.mcp?.[field];
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
  if (Array.isArray(v)) return v.join(',');
  // A body member may be an object: its JSON, never "[object Object]".
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** True when `source` reads the request body (`{body}` or `{body.…}`). */
export function readsBody(source: string): boolean {
  for (const m of source.matchAll(PLACEHOLDER)) {
    const n = m[1] as string;
    if (n === 'body' || n.startsWith('body.')) return true;
  }
  return false;
}

/** Compiles a template; returns an error message for an unknown placeholder. */
export function compileTemplate(source: string, captures: ReadonlySet<string>, opts: TemplateOptions = {}): Template | string {
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const r = resolver(m[1] as string, captures, opts);
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
