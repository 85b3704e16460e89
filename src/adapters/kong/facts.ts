/**
 * What both Kong entry points (our plugin, Kong Enterprise's opa plugin) know beyond the
 * HTTP request: the route, service and consumer, as {@link GatewayFacts} for mapping
 * templates (`{route}`, `{service}`, `{consumer}`) and conditions (`context.gateway.*`).
 */
import type { GatewayFacts } from '../../gateway/request.js';
import type { KongConsumer, NamedEntity } from './schema.js';
import { lastAnswer } from '../../shared/last-answer.js';

const text = (v: string | null | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export interface KongEntities {
  route?: NamedEntity;
  service?: NamedEntity;
  consumer?: KongConsumer;
  credential?: { id?: string | null };
  /** Our plugin's `agent_id_from`; Kong's opa plugin has no such hint. */
  agent_id_from?: 'username' | 'custom_id' | 'none';
}

/** Route and service by name (their id when unnamed); consumer ids and names, never secrets. */
export function kongFacts(e: KongEntities): GatewayFacts | undefined {
  const facts: GatewayFacts = {};
  const route = text(e.route?.name) ?? text(e.route?.id);
  const service = text(e.service?.name) ?? text(e.service?.id);
  if (route !== undefined) facts.route = route;
  if (service !== undefined) facts.service = service;
  if (e.consumer) {
    const c: NonNullable<GatewayFacts['consumer']> = {};
    const id = text(e.consumer.id);
    const username = text(e.consumer.username);
    const customId = text(e.consumer.custom_id);
    if (id !== undefined) c.id = id;
    if (username !== undefined) c.username = username;
    if (customId !== undefined) c.custom_id = customId;
    if (id !== undefined || username !== undefined || customId !== undefined) facts.consumer = c;
  }
  const credential = text(e.credential?.id);
  if (credential !== undefined) facts.credential = credential;
  if (facts.consumer && (e.agent_id_from === 'username' || e.agent_id_from === 'custom_id')) facts.agentIdFrom = e.agent_id_from;
  // No Object.keys array per request: each field is set only when defined.
  return route === undefined && service === undefined && facts.consumer === undefined && credential === undefined ? undefined : facts;
}

/** Kong reports host and port apart; the port goes back on (normalize drops default ports). */
export function hostWithPort(host: string, port: number | string | undefined): string {
  if (port === undefined || port === '' || host === '') return host;
  return joinedWithPort(host, port);
}

/**
 * withPort() with its last answer kept (shared/last-answer.ts). Besides the string it saves,
 * normalize's canonicalHost then finds the very string it saw last (gateway/host.ts), where a
 * new one is flattened and compared.
 */
const joinedWithPort = lastAnswer(withPort);

function withPort(host: string, port: number | string): string {
  if (host.startsWith('[')) return host.includes(']:') ? host : `${host}:${port}`;
  // No colon: a name or IPv4; one: it already has its port; more: a bare IPv6 literal.
  const colon = host.indexOf(':');
  if (colon === -1) return `${host}:${port}`;
  return host.indexOf(':', colon + 1) === -1 ? host : `[${host}]:${port}`;
}
