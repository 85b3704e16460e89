/**
 * "The same action" for retry dedupe: the same agent asking to do the same action_type to the same
 * resource with the same parameters. Context is left out on purpose — it carries per-request
 * facts (request ids, timestamps, client addresses) that differ on every retry.
 */
import { createHash } from 'node:crypto';

export interface FingerprintInput {
  readonly agent_id: string;
  readonly action_type: string;
  readonly resource: string;
  readonly parameters?: unknown;
}

/** Hex SHA-256 of the canonical JSON of [agent_id, action_type, resource, parameters]. */
export function fingerprintAction(a: FingerprintInput): string {
  const key = canonicalJson([a.agent_id, a.action_type, a.resource, a.parameters ?? {}]);
  return createHash('sha256').update(key).digest('hex');
}

/**
 * JSON with object keys sorted at every depth, so `{a, b}` and `{b, a}` fingerprint alike.
 * Values JSON cannot hold follow JSON.stringify (undefined members dropped, NaN → null).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value; // Date and friends
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
  return out;
}
