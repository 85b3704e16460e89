/**
 * Who may call the gateway endpoints (`gateway_access`): a TCP peer in `allowed_peers`, and,
 * when a `token` is configured, the same token in `x-ascend-gateway-token`. Those endpoints
 * take the caller's word for who the agent is and what it did (`/kong/v1/complete`), so a
 * caller that is not a gateway must not reach them at all.
 *
 * Compiled once per config (CIDR ranges parsed, the token hashed). A connection's peer is
 * checked on its first request — string comparisons for loopback peers (the sidecar pattern),
 * one map lookup for the rest — and remembered for the connection's later requests (a reload
 * compiles a new GatewayAccess, which checks again). A token is checked on every request, as
 * SHA-256 digests compared with timingSafeEqual: equal lengths whatever was sent, so neither
 * the comparison nor its length check exits early on the first differing byte.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { IssueList } from '../config/errors.js';
import type { AdmissionCode } from '../core/errors.js';
import type { GatewayAccessConfig } from '../config/gateways.js';
import { resolveSecret, type SecretSources } from '../config/secrets.js';
import { compileTrustedProxies } from './trusted-proxies.js';

/** Why a call was refused; also the `code` of the answer and the metric's `reason` label. */
export type GatewayDenial = Extract<AdmissionCode, 'peer_not_allowed' | 'gateway_token_required'>;

export const GATEWAY_TOKEN_HEADER = 'x-ascend-gateway-token';

export interface GatewayAccess {
  /**
   * Why the peer (the socket's remoteAddress, never a forwarding header) presenting `token`
   * (the header's value) may not call a gateway endpoint; undefined when it may.
   */
  deny(peer: string | undefined, token: string | string[] | undefined): GatewayDenial | undefined;
  /** {@link deny} for a request on `connection`, whose peer is checked once per connection. */
  denyRequest(connection: Socket, headers: IncomingHttpHeaders): GatewayDenial | undefined;
}

// The one-shot hash: a third of createHash()'s cost (no Hash object per call).
const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer');

export function compileGatewayAccess(cfg: GatewayAccessConfig, secrets: SecretSources, issues: IssueList): GatewayAccess {
  const at = ['gateway_access'];
  const listed = compileTrustedProxies(cfg.allowed_peers, issues, [...at, 'allowed_peers']);
  const loopback4 = listed('127.0.0.1');
  const loopback6 = listed('::1');
  const peerAllowed = (peer: string | undefined): boolean => {
    // Node reports an IPv4 peer of a dual-stack listener as ::ffff:127.0.0.1.
    if (peer === '127.0.0.1' || peer === '::ffff:127.0.0.1') return loopback4;
    if (peer === '::1') return loopback6;
    return listed(peer);
  };
  const token = cfg.token === undefined ? undefined : resolveSecret(cfg.token, [...at, 'token'], issues, secrets);
  const digest = token === undefined ? undefined : sha256(token);
  // A header sent twice is refused whole, like any other ambiguous header.
  const tokenDenial = (presented: string | string[] | undefined): GatewayDenial | undefined =>
    digest === undefined || (typeof presented === 'string' && timingSafeEqual(sha256(presented), digest)) ? undefined : 'gateway_token_required';
  // Connections whose peer passed; weak, so a closed socket is simply forgotten.
  const admitted = new WeakSet<Socket>();
  return {
    deny: (peer, presented) => (peerAllowed(peer) ? tokenDenial(presented) : 'peer_not_allowed'),
    denyRequest(connection, headers) {
      if (!admitted.has(connection)) {
        if (!peerAllowed(connection.remoteAddress)) return 'peer_not_allowed';
        admitted.add(connection);
      }
      return digest === undefined ? undefined : tokenDenial(headers[GATEWAY_TOKEN_HEADER]);
    },
  };
}
