/**
 * Agent identity from the configured sources, tried in order; the first that yields a value
 * wins. Only listed sources count: listing a header is the operator's statement that the
 * gateway strips client copies of it (docs/architecture.md, "Identity").
 *
 * Gateway consumers (Kong): a `consumer: {field}` source reads that field of the consumer the
 * gateway authenticated. When no such source is listed, a consumer the gateway itself vouches
 * for (the Kong plugin's `agent_id_from: username|custom_id`, set only after a Kong auth
 * plugin identified it) is tried first, before the listed sources.
 */
import type { IdentitySourceConfig } from '../config/schema.js';
import type { IssueList } from '../config/errors.js';
import { AGENT_ID_PATTERN } from '../core/action.js';
import { RequestError } from '../core/errors.js';
import type { GatewayRequest } from '../gateway/request.js';
import { asciiSet, onlyIn } from '../shared/ascii-set.js';
import type { AgentRegistry } from './agents.js';

const AGENT_ID_RE = new RegExp(AGENT_ID_PATTERN);

/**
 * AGENT_ID_PATTERN (`^[A-Za-z0-9._:@/+=~-]{1,256}$`) as a loop over a table of its class's
 * characters, taken from the pattern itself (its class is ASCII only: mapping.test.ts holds the
 * loop to the pattern for every UTF-16 code unit and the length bounds). The pattern's regex test
 * was ~1,000 instructions per identified request; the loop is a few per character.
 */
const AGENT_ID_CHARS = asciiSet(AGENT_ID_RE);

/** Whether `value` matches AGENT_ID_PATTERN. */
export function isAgentId(value: string): boolean {
  return value.length > 0 && value.length <= 256 && onlyIn(AGENT_ID_CHARS, value);
}

export type IdentitySource = (req: GatewayRequest, agents: AgentRegistry) => string | undefined;

/** `source` names where the value came from, for the error (built once per source, not per request). */
function checked(value: string, source: string): string {
  if (!isAgentId(value)) {
    throw new RequestError('invalid_agent_id', `agent id from ${source} is not a valid identifier (one value of [A-Za-z0-9._:@/+=~-], at most 256 characters)`);
  }
  return value;
}

function dig(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function headerSource(name: string): IdentitySource {
  const h = name.toLowerCase();
  const what = `header ${h}`;
  return (req) => {
    const v = req.headers[h];
    return v === undefined || v === '' ? undefined : checked(v, what);
  };
}

function jwtSource(ns: string, payloadKey: string, claim: string): IdentitySource {
  const path = [ns, payloadKey, ...claim.split('.')];
  const what = `jwt claim ${claim}`;
  return (req) => {
    const v = dig(req.metadata, path);
    if (typeof v === 'string' && v !== '') return checked(v, what);
    if (typeof v === 'number') return String(v);
    return undefined;
  };
}

/**
 * `from: gateway` reads the principal the gateway verified (Envoy's source.principal);
 * `from: connection` the client certificate of the sidecar's own TLS connection. Anything but
 * `connection` reads the gateway's: a caller's own certificate never stands in by accident.
 */
function principalSource(trimPrefix: string | undefined, from: 'gateway' | 'connection' | undefined): IdentitySource {
  const connection = from === 'connection';
  const what = connection ? 'client certificate' : 'mTLS principal';
  return (req, agents) => {
    const p = connection ? req.connectionPrincipal : req.principal;
    if (p === undefined || p === '') return undefined;
    const registered = agents.agentForPrincipal(p);
    if (registered !== undefined) return registered;
    if (trimPrefix === undefined) return checked(p, what);
    return p.startsWith(trimPrefix) && p.length > trimPrefix.length ? checked(p.slice(trimPrefix.length), what) : undefined;
  };
}

type ConsumerField = 'username' | 'custom_id';

const CONSUMER_SOURCE: Record<ConsumerField, string> = { username: 'gateway consumer username', custom_id: 'gateway consumer custom_id' };

function consumerField(req: GatewayRequest, field: ConsumerField): string | undefined {
  const v = req.facts?.consumer?.[field];
  return v === undefined || v === '' ? undefined : checked(v, CONSUMER_SOURCE[field]);
}

/** A configured `consumer: {field}` source: the sidecar's config decides the field. */
function consumerSource(field: ConsumerField): IdentitySource {
  return (req) => consumerField(req, field);
}

/** The field the gateway's plugin named (`agent_id_from`); absent or `none` yields nothing. */
const vouchedConsumerSource: IdentitySource = (req) => {
  const field = req.facts?.agentIdFrom;
  return field === undefined ? undefined : consumerField(req, field);
};

export function compileIdentity(sources: readonly IdentitySourceConfig[], issues: IssueList, requireVerified = false): IdentitySource[] {
  const out: IdentitySource[] = [];
  sources.forEach((s, i) => {
    if (requireVerified && s.header !== undefined) {
      issues.add(['identity', 'sources', i, 'header'], 'identity.require_verified is set: only jwt_claim, principal and consumer sources may identify agents');
      return;
    }
    const kinds = (['header', 'jwt_claim', 'principal', 'consumer'] as const).filter((k) => s[k] !== undefined);
    if (kinds.length !== 1) {
      issues.add(['identity', 'sources', i], 'each source needs exactly one of header, jwt_claim, principal, consumer');
      return;
    }
    if (s.header !== undefined) out.push(headerSource(s.header));
    else if (s.jwt_claim) out.push(jwtSource(s.jwt_claim.namespace, s.jwt_claim.payload_key, s.jwt_claim.claim));
    else if (s.consumer) out.push(consumerSource(s.consumer.field));
    else if (s.principal) out.push(principalSource(s.principal.trim_prefix, s.principal.from));
  });
  if (!sources.some((s) => s.consumer !== undefined)) out.unshift(vouchedConsumerSource);
  return out;
}

export function resolveAgent(sources: readonly IdentitySource[], req: GatewayRequest, agents: AgentRegistry): string | null {
  for (const s of sources) {
    const id = s(req, agents);
    if (id !== undefined) return id;
  }
  return null;
}
