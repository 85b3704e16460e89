/**
 * "The same action" for retry dedupe and for grants: the same agent asking to do the same
 * action_type to the same resource with the same parameters, decided by the same policy (with
 * the same conditions, approvers and workflow) over the same bound values — every `context.*`
 * and `request.*` value the policies read, and the risk score (evaluator/binding.ts). Context
 * the policies do not read is left out on purpose: it carries per-request facts (request ids,
 * timestamps, client addresses) that differ on every retry.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../evaluator/binding.js';
import type { ActionBinding } from './store/records.js';

export { canonicalJson } from '../evaluator/binding.js';

export interface FingerprintInput {
  readonly agent_id: string;
  readonly action_type: string;
  readonly resource: string;
  readonly parameters?: unknown;
  readonly policy_id?: string | null;
  readonly binding?: ActionBinding;
}

/** Hex SHA-256 of the canonical JSON of everything a grant is bound to. */
export function fingerprintAction(a: FingerprintInput): string {
  const b = a.binding;
  const key = canonicalJson([
    a.agent_id, a.action_type, a.resource, a.parameters ?? {},
    a.policy_id ?? null, b?.policy_digest ?? null, b?.workflow ?? null, b?.values ?? {},
  ]);
  return createHash('sha256').update(key).digest('hex');
}
