/**
 * Dotted condition paths (`parameters.amount`, `agent.type`, `request.headers.x-tenant`)
 * compiled once into getters over an {@link EvalInput}.
 */
import type { EvalInput } from '../core/action.js';
import { digBody, readBody } from '../gateway/body.js';

export type Getter = (input: EvalInput) => unknown;

function dig(value: unknown, keys: readonly string[]): unknown {
  let v = value;
  for (const k of keys) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    // Own properties only: a condition on `parameters.constructor` must not reach a prototype.
    if (!Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

const REQUEST_FIELDS = new Set(['method', 'path', 'host', 'scheme', 'source_ip', 'principal']);
const AGENT_FIELDS = new Set(['id', 'type', 'capabilities', 'registered', 'name']);

/** The roots a condition path may start with, for error messages. */
export const CONDITION_ROOTS =
  'action_type, resource, agent_id, agent.*, parameters.*, context.*, body.*, request.method|path|host|scheme|source_ip|principal, request.headers.*, request.query.*, risk.score';

/** Compiles a path into a getter, or returns an error message for an unknown path. */
export function compilePath(path: string): Getter | string {
  const parts = path.split('.');
  const [root, ...rest] = parts;
  if (parts.some((p) => p === '')) return `invalid path "${path}"`;
  switch (root) {
    case 'action_type':
    case 'resource':
    case 'agent_id': {
      if (rest.length > 0) return `"${root}" has no fields`;
      const key = root;
      return (i) => i.action[key];
    }
    case 'parameters':
      return rest.length === 0 ? (i) => i.action.parameters : (i) => dig(i.action.parameters, rest);
    case 'context':
      return rest.length === 0 ? (i) => i.action.context : (i) => dig(i.action.context, rest);
    case 'body':
      // The parsed request body (gateway/body.ts); reading a partial one denies (body_truncated).
      return rest.length === 0 ? (i) => readBody(i.body) : (i) => digBody(readBody(i.body), rest);
    case 'agent': {
      const [field] = rest;
      if (rest.length !== 1 || field === undefined || !AGENT_FIELDS.has(field)) {
        return `unknown agent field in "${path}" (agent.id, agent.type, agent.capabilities, agent.registered, agent.name)`;
      }
      return (i) => i.agent[field as keyof typeof i.agent];
    }
    case 'risk':
      if (rest.length !== 1 || rest[0] !== 'score') return `unknown risk field in "${path}" (risk.score)`;
      return (i) => i.risk.score;
    case 'request':
      return compileRequestPath(path, rest);
    default:
      return `unknown condition path "${path}"; paths start with ${CONDITION_ROOTS}`;
  }
}

function compileRequestPath(path: string, rest: string[]): Getter | string {
  const [field, name, ...more] = rest;
  if ((field === 'headers' || field === 'query') && name !== undefined && more.length === 0) {
    if (field === 'headers') {
      const header = name.toLowerCase();
      return (i) => i.request?.headers[header];
    }
    const key = name.toLowerCase(); // read query keys are stored lower-case (gateway/query.ts)
    return (i) => i.request?.query[key];
  }
  if (field !== undefined && rest.length === 1 && REQUEST_FIELDS.has(field)) {
    const key = field === 'source_ip' ? 'sourceIp' : (field as 'method' | 'path' | 'host' | 'scheme' | 'principal');
    return (i) => i.request?.[key];
  }
  return `unknown request field in "${path}" (request.method, request.path, request.host, request.scheme, request.source_ip, request.principal, request.headers.NAME, request.query.NAME)`;
}
