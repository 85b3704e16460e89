/**
 * An agent's health from its last heartbeat (pure). The thresholds follow the ASCEND SDK's
 * default heartbeat interval of 60 s (start_heartbeat in SDK 2.4+):
 *
 * - healthy: a heartbeat within the last 120 s — two intervals, so one late or lost heartbeat
 *   does not flap the status;
 * - stale:   the last one 120–300 s ago — two to five intervals missed;
 * - offline: nothing for more than 300 s; the next heartbeat then starts a new session, and
 *   `uptime_seconds` counts from it;
 * - unknown: never heard from.
 */
import type { HeartbeatRecord } from '../approvals/store/agent-records.js';

export const HEALTHY_WITHIN_MS = 120_000;
export const OFFLINE_AFTER_MS = 300_000;

export type HealthState = 'healthy' | 'stale' | 'offline' | 'unknown';

export function healthState(now: number, hb: HeartbeatRecord | undefined): HealthState {
  if (!hb) return 'unknown';
  const age = now - hb.last_heartbeat;
  if (age <= HEALTHY_WITHIN_MS) return 'healthy';
  return age <= OFFLINE_AFTER_MS ? 'stale' : 'offline';
}

/** Seconds since the session's first heartbeat while the agent is up; null when offline or unknown. */
export function uptimeSeconds(now: number, hb: HeartbeatRecord | undefined): number | null {
  const state = healthState(now, hb);
  if (!hb || state === 'offline' || state === 'unknown') return null;
  return Math.max(0, Math.floor((now - hb.session_started_at) / 1000));
}

/** When a heartbeat at `now` continues the session of `prior`, and when it starts a new one. */
export function sessionStart(now: number, prior: HeartbeatRecord | undefined): number {
  return prior && now - prior.last_heartbeat <= OFFLINE_AFTER_MS ? prior.session_started_at : now;
}

/** The newer of two readings of one agent (this process's, the store's). */
export function newest(a: HeartbeatRecord | undefined, b: HeartbeatRecord | undefined): HeartbeatRecord | undefined {
  if (!a || !b) return a ?? b;
  return b.last_heartbeat > a.last_heartbeat ? b : a;
}
