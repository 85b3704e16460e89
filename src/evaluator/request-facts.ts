/**
 * Request facts across the edge → control plane hop. A control plane's policies may read
 * `request.*` (method, path, host, scheme, source_ip, principal, headers.NAME, query.NAME); an
 * edge evaluating remotely forwards the values its gateway saw, inside the submit body's
 * `context.ascend_request` (ASCEND keeps context as opaque data):
 *
 *   "ascend_request": {"facts": ["headers.x-tenant", "method"], "method": "POST", "headers": {"x-tenant": "acme"}}
 *
 * Only the facts the control plane reads are forwarded — what the body carries is what the edge's
 * cache key carries, and a header such as x-request-id would make every request a miss. The control plane
 * names them in `x-ascend-request-facts` on each answer to a gateway key; `facts` says what the
 * edge sent, so a control plane whose policies read more (a reload there) answers 409
 * `request_facts_required` instead of deciding without them, and the edge asks again.
 */
import type { RequestView } from '../core/action.js';

/** The response header naming the facts a control plane reads ("none" for none). */
export const FACTS_HEADER = 'x-ascend-request-facts';
/** The context key the facts travel in. */
export const FACTS_CONTEXT_KEY = 'ascend_request';

const SCALARS = ['method', 'path', 'host', 'scheme', 'source_ip', 'principal'] as const;
type Scalar = (typeof SCALARS)[number];
const FIELD: Readonly<Record<Scalar, keyof RequestView>> = { method: 'method', path: 'path', host: 'host', scheme: 'scheme', source_ip: 'sourceIp', principal: 'principal' };

/** `request.*` condition paths → fact names (`request.headers.X-Tenant` → `headers.x-tenant`), sorted, unique. */
export function factsRead(paths: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    if (!p.startsWith('request.')) continue;
    const rest = p.slice('request.'.length);
    const dot = rest.indexOf('.');
    out.add(dot === -1 ? rest : `${rest.slice(0, dot)}.${rest.slice(dot + 1).toLowerCase()}`);
  }
  return [...out].sort();
}

export function formatFacts(facts: readonly string[]): string {
  return facts.length === 0 ? 'none' : facts.join(',');
}

/** The header's value → fact names; undefined when absent or not one. */
export function parseFacts(header: string | string[] | undefined): string[] | undefined {
  const v = Array.isArray(header) ? header.join(',') : header;
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === 'none' || t === '') return [];
  const names = t.split(',').map((s) => s.trim()).filter((s) => /^(method|path|host|scheme|source_ip|principal|(headers|query)\.[^,\s]+)$/.test(s));
  return [...new Set(names)].sort();
}

/** One forwarded fact, compiled: where it goes in the JSON, its name there as JSON, and its reader. */
interface Fact {
  readonly kind: 'scalar' | 'header' | 'query';
  readonly json: string;
  readonly read: (req: RequestView) => unknown;
}

function compileFact(f: string): Fact {
  if (f.startsWith('headers.')) {
    const name = f.slice(8);
    return { kind: 'header', json: JSON.stringify(name), read: (r) => r.headers[name] };
  }
  if (f.startsWith('query.')) {
    const name = f.slice(6);
    return { kind: 'query', json: JSON.stringify(name), read: (r) => r.query[name] };
  }
  const field = FIELD[f as Scalar];
  return { kind: 'scalar', json: JSON.stringify(f), read: (r) => r[field] };
}

/**
 * The facts an edge forwards, compiled once per list the control plane names (when the edge
 * learns it), not per check: the `{"facts":[…]` head of their JSON and each fact's reader.
 */
export class ForwardedFacts {
  /** `{"facts":["method",…]`: what every body's context.ascend_request starts with (but a forwarded view's). */
  readonly head: string;
  private readonly compiled: readonly Fact[];

  constructor(readonly names: readonly string[]) {
    this.head = `{"facts":${JSON.stringify(names)}`;
    this.compiled = names.map(compileFact);
  }

  /**
   * The JSON of `context.ascend_request` for `req` (what the edge sends): the names' head, then
   * each fact the request carries. Headers and query keys it does not carry are left out: the
   * control plane reads them as absent.
   */
  json(req: RequestView): string {
    // A view forwarded to us by another edge knows only what that edge sent: never claim the
    // rest (the next control plane would read a fact as absent that was merely not forwarded).
    const known = req.forwardedFacts;
    if (known === undefined) return this.encode(req, this.head, this.compiled);
    const names: string[] = [];
    const facts: Fact[] = [];
    for (let i = 0; i < this.names.length; i++) {
      if (!known.has(this.names[i]!)) continue;
      names.push(this.names[i]!);
      facts.push(this.compiled[i]!);
    }
    return this.encode(req, `{"facts":${JSON.stringify(names)}`, facts);
  }

  private encode(req: RequestView, head: string, facts: readonly Fact[]): string {
    let json = head;
    let headers = '';
    let query = '';
    for (const f of facts) {
      const v = f.read(req);
      // null as absent, as values() has it (a view's fact is never null by its type).
      if (v === undefined || v === null) continue;
      const member = `${f.json}:${JSON.stringify(v)}`;
      if (f.kind === 'header') headers += headers === '' ? member : `,${member}`;
      else if (f.kind === 'query') query += query === '' ? member : `,${member}`;
      else json += `,${member}`;
    }
    if (headers !== '') json += `,"headers":{${headers}}`;
    if (query !== '') json += `,"query":{${query}}`;
    return `${json}}`;
  }

  /**
   * Appends what json(req) is made of for a view that is not a forwarded one: each fact's value
   * in the order of `names`, an absent one as null (a fact's value is a string or a list of
   * strings, never null). Equal lists of names and equal values give equal JSON.
   */
  values(req: RequestView, out: unknown[]): void {
    for (const f of this.compiled) out.push(f.read(req) ?? null);
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function stringMap<V>(v: unknown, ok: (x: unknown) => x is V): Record<string, V> {
  const out: Record<string, V> = Object.create(null) as Record<string, V>;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) if (ok(x)) out[k.toLowerCase()] = x;
  return out;
}

const isString = (x: unknown): x is string => typeof x === 'string';
const isQueryValue = (x: unknown): x is string | string[] => typeof x === 'string' || (Array.isArray(x) && x.every(isString));

/**
 * What a control plane reads from `context.ascend_request`: the request view its conditions see,
 * and the facts the edge said it sent. Undefined when it is not one.
 */
export function requestFromFacts(v: unknown): { request: RequestView; sent: ReadonlySet<string> } | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o.facts) || !o.facts.every(isString)) return undefined;
  const sent = new Set(o.facts);
  const request: RequestView = {
    method: str(o.method) ?? '', path: str(o.path) ?? '', host: str(o.host) ?? '', scheme: str(o.scheme) ?? '',
    sourceIp: str(o.source_ip), principal: str(o.principal),
    headers: stringMap(o.headers, isString), query: stringMap(o.query, isQueryValue), forwardedFacts: sent,
  };
  return { request, sent };
}
