/**
 * What a decision depended on, beyond the action's agent, type, resource and parameters:
 * every `context.*`, `request.*` and `body.*` value a compiled policy or the risk model reads, and the
 * risk score. Both the decision-cache key and an approval's grant are bound to these values,
 * so a request that differs in any of them is a different decision — an approval given for a
 * POST in staging never lets a DELETE or a production request through.
 */
import { createHash } from 'node:crypto';
import type { EvalInput } from '../core/action.js';
import { compilePath, type Getter } from '../policy/paths.js';

/** Inputs the risk model reads besides agent, action type and resource. */
export const RISK_READS = ['context.environment', 'request.method'] as const;

/** The `context.*` / `request.*` / `body.*` paths a decision depends on, sorted, from the policies' reads. */
export function boundPaths(reads: Iterable<string>): string[] {
  return [...new Set([...reads, ...RISK_READS])]
    .filter((p) => p.startsWith('context.') || p.startsWith('request.') || p === 'context' || p.startsWith('body.') || p === 'body')
    .sort();
}

export interface BoundPath {
  readonly path: string;
  readonly get: Getter;
}

export function compileBoundPaths(reads: Iterable<string>): BoundPath[] {
  const out: BoundPath[] = [];
  for (const path of boundPaths(reads)) {
    const get = compilePath(path);
    if (typeof get !== 'string') out.push({ path, get });
  }
  return out;
}

/** What a binding needs of an input: the action and the request (conditions' getters read only these). */
export type BindingInput = Pick<EvalInput, 'action' | 'request' | 'body'>;

/** The decision a binding is taken under. */
export interface BoundDecision {
  readonly policyId: string | null;
  readonly riskScore: number;
}

export type Binder = (input: BindingInput, riskScore: number) => Record<string, unknown>;

/** The bound values of one input, by path (`request.method`, `context.environment`, `risk.score`); absent ones left out. */
export function createBinder(reads: Iterable<string>): Binder {
  const paths = compileBoundPaths(reads);
  return (input, riskScore) => {
    const values: Record<string, unknown> = {};
    for (const { path, get } of paths) {
      const v = get(input as EvalInput);
      if (v !== undefined && v !== null) values[path] = v;
    }
    values['risk.score'] = riskScore;
    return values;
  };
}

/**
 * What an action's decision (and so its grant) is bound to besides agent, type, resource and
 * parameters: the deciding policy's digest and workflow, and the values the policies read.
 */
export interface ActionBinding {
  /** policyDigest() of the deciding policy (conditions, action, approvers, workflow); null if none decided. */
  readonly policy_digest: string | null;
  /** The workflow's name, or null for a policy's plain approvers list. */
  readonly workflow: string | null;
  /** Every `context.*` / `request.*` value the policies read, and `risk.score`, by path. */
  readonly values: Readonly<Record<string, unknown>>;
}

/** The binding of an input under the decision taken on it. */
export type ActionBinder = (input: BindingInput, decision: BoundDecision) => ActionBinding;

/** Precomputes every policy's digest at load; binding an input is then a few lookups. */
export function createActionBinder(
  policies: readonly ({ id: string } & PolicyIdentity)[], workflows: ReadonlyMap<string, { name?: string }>, reads: Iterable<string>,
): ActionBinder {
  const binder = createBinder(reads);
  const digests = new Map<string, string>();
  for (const p of policies) digests.set(p.id, policyDigest({ ...p, workflow: workflows.get(p.id) ?? null }));
  return (input, { policyId, riskScore }) => ({
    policy_digest: policyId === null ? null : digests.get(policyId) ?? null,
    workflow: policyId === null ? null : workflows.get(policyId)?.name ?? null,
    values: binder(input, riskScore),
  });
}

/** The parts of a policy an approval is bound to (README "Approvals": grants). */
export interface PolicyIdentity {
  readonly conditions: unknown;
  readonly action: string;
  readonly approvers?: readonly string[] | undefined;
  /** The resolved workflow definition (steps, escalation), not only its name. */
  readonly workflow?: unknown;
}

/**
 * A digest of what makes a policy's approvals mean what they mean: its conditions, action,
 * approvers and resolved workflow. A reload that changes any of them changes the digest, so
 * grants given under the old rules no longer match; grants of unchanged policies survive.
 */
export function policyDigest(p: PolicyIdentity): string {
  const body = canonicalJson({ conditions: p.conditions, action: p.action, approvers: p.approvers ?? null, workflow: p.workflow ?? null });
  return createHash('sha256').update(body).digest('hex').slice(0, 32);
}

/**
 * JSON with object keys sorted at every depth, so `{a, b}` and `{b, a}` encode alike.
 * Values JSON cannot hold follow JSON.stringify (undefined members dropped, NaN → null).
 * Inputs are depth-capped at every JSON entry (limits.max_json_depth), so recursion is bounded.
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
