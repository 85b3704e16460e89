/**
 * How many connections each listener may hold, fitted to the process's open-file limit.
 *
 * `server.max_connections` applies to each listener (HTTP, the gateway HTTP listener when
 * configured, gRPC), and every connection is a descriptor. If the caps together exceed what the process may open, a flood of one listener
 * could still take every descriptor and leave the others unable to accept — the gRPC
 * listener, whose caller (Envoy) fails requests when it cannot connect, above all. So at start the soft RLIMIT_NOFILE is read (/proc/self/limits;
 * Node raises the soft limit to the hard one as it starts, so this is the real limit), a
 * reserve is kept for everything else (config and secret files, the store, log files,
 * outgoing connections), and when the caps do not fit they are lowered, the HTTP listeners'
 * first — with one warning saying so.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AccessMetrics } from '../observability/access-metrics.js';
import type { ConnectionLimits, ListenerName } from './connection-gate.js';

/** Descriptors kept out of every listener's cap: files, the store, logs, webhooks, Node itself. */
export const RESERVED_FDS = 256;

/** Connection caps per listener; `gatewayHttp` only when server.gateway_http_port is set. */
export interface ListenerCaps {
  grpc: number;
  http: number;
  gatewayHttp?: number;
}

/** The soft "Max open files" of /proc/self/limits text; undefined when unlimited or absent. */
export function parseOpenFileLimit(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limitsText);
  return m === null || m[1] === 'unlimited' ? undefined : Number(m[1]);
}

/** This process's open-file limit; undefined where /proc is not there (not Linux). */
export function readOpenFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The caps, lowered if they do not fit `openFileLimit` − {@link RESERVED_FDS}: the HTTP
 * listeners give way first, down to a quarter of what is available (shared in proportion to
 * their caps), and gRPC keeps its cap unless even that does not leave the quarter. Every cap
 * stays at least 1.
 */
export function fitToOpenFiles(caps: ListenerCaps, openFileLimit: number | undefined): { caps: ListenerCaps; clamped: boolean } {
  if (openFileLimit === undefined) return { caps, clamped: false };
  const http = caps.http + (caps.gatewayHttp ?? 0);
  const available = Math.max(2, openFileLimit - RESERVED_FDS);
  if (caps.grpc + http <= available) return { caps, clamped: false };
  const grpc = Math.max(1, Math.min(caps.grpc, available - Math.floor(available / 4)));
  const share = (cap: number): number => Math.max(1, Math.min(cap, Math.floor(((available - grpc) * cap) / http)));
  const fitted: ListenerCaps = { grpc, http: share(caps.http) };
  if (caps.gatewayHttp !== undefined) fitted.gatewayHttp = share(caps.gatewayHttp);
  return { caps: fitted, clamped: true };
}

export interface ListenerLimits {
  grpc: ConnectionLimits;
  http: ConnectionLimits;
  gatewayHttp?: ConnectionLimits;
}

/** Each listener's limits from `server.*`, fitted to the open-file limit (one warning when lowered). */
export function planListeners(server: Config['server'], opts: { openFileLimit: number | undefined; logger: Logger; metrics: AccessMetrics }): ListenerLimits {
  const wanted: ListenerCaps = { grpc: server.max_connections, http: server.max_connections };
  if (server.gateway_http_port !== undefined) wanted.gatewayHttp = server.max_connections;
  const { caps, clamped } = fitToOpenFiles(wanted, opts.openFileLimit);
  if (clamped) {
    opts.logger.warn(
      { open_file_limit: opts.openFileLimit, reserved_fds: RESERVED_FDS, max_connections: server.max_connections, lowered_to: caps },
      'server.max_connections on every listener does not fit the open-file limit: caps lowered, HTTP first, so a flood of one listener cannot take the descriptors the gRPC listener needs',
    );
  }
  const limits = (cap: number, name: ListenerName): ConnectionLimits => ({ maxConnections: cap, maxPerPeer: server.max_connections_per_peer, onReject: opts.metrics.listener(name) });
  const out: ListenerLimits = { grpc: limits(caps.grpc, 'grpc'), http: limits(caps.http, 'http') };
  if (caps.gatewayHttp !== undefined) out.gatewayHttp = limits(caps.gatewayHttp, 'gateway_http');
  return out;
}
