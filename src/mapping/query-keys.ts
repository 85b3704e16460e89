/**
 * The query keys a config reads — `{query.NAME}` in a route's templates and
 * `request.query.NAME` in a policy condition — lower-cased. The normalizer parses exactly these
 * strictly (gateway/query.ts): a spelling two upstream parsers could read differently is denied.
 */
import type { PolicyConfig, RouteConfig } from '../config/schema.js';

const QUERY_PLACEHOLDER = /\{query\.([A-Za-z0-9_.-]+)\}/g;
const QUERY_CONDITION = /^request\.query\.(.+)$/;

function fromTemplates(value: unknown, out: Set<string>): void {
  if (typeof value === 'string') {
    for (const m of value.matchAll(QUERY_PLACEHOLDER)) out.add((m[1] as string).toLowerCase());
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) fromTemplates(v, out);
  }
}

export function queryKeysRead(routes: readonly RouteConfig[], policies: readonly PolicyConfig[]): Set<string> {
  const out = new Set<string>();
  for (const r of routes) fromTemplates([r.action_type, r.resource, r.parameters, r.context], out);
  for (const p of policies) {
    for (const path of Object.keys(p.conditions)) {
      const m = QUERY_CONDITION.exec(path);
      if (m) out.add((m[1] as string).toLowerCase());
    }
  }
  return out;
}
