/**
 * What a registration or an update makes of an agent's record (pure). The trust rule: type,
 * capabilities and allowed resources that an admin key wrote (trust_level `admin`) are the
 * admin's — the agent's own key may re-register (its SDK does at every start, with defaults)
 * without undoing them, and may not change them with PUT. What an agent says of itself stays
 * trust_level `self`.
 */
import type { AgentRecord } from '../approvals/store/agent-records.js';

/** The caller: an API key's name, and whether it is an admin key (else the agent's own key). */
export interface Actor {
  readonly name: string;
  readonly admin: boolean;
}

/** POST /api/registry/agents, after schema defaults. */
export interface Registration {
  readonly agent_id: string;
  readonly display_name?: string | null;
  readonly agent_type: AgentRecord['agent_type'];
  readonly environment?: string | null;
  readonly capabilities: readonly string[];
  readonly allowed_resources: readonly string[];
  readonly sdk_version?: string | null;
  readonly metadata: Record<string, unknown>;
}

/** PUT /api/registry/agents/{id}: any subset. */
export type AgentPatch = Partial<Omit<Registration, 'agent_id'>> & { readonly model_id?: number };

/** The fields the trust rule guards. */
export const GUARDED_FIELDS = ['agent_type', 'capabilities', 'allowed_resources'] as const;

const described = (r: Registration | AgentPatch) => ({
  ...(r.display_name !== undefined ? { display_name: r.display_name } : {}),
  ...(r.environment !== undefined ? { environment: r.environment } : {}),
  ...(r.sdk_version !== undefined ? { sdk_version: r.sdk_version } : {}),
  ...(r.metadata !== undefined ? { metadata: r.metadata } : {}),
});

const guarded = (r: Registration | AgentPatch) => ({
  ...(r.agent_type !== undefined ? { agent_type: r.agent_type } : {}),
  ...(r.capabilities !== undefined ? { capabilities: [...r.capabilities] } : {}),
  ...(r.allowed_resources !== undefined ? { allowed_resources: [...r.allowed_resources] } : {}),
});

/** The record after `actor` registers `r`; `existing` is what the store holds (re-registration). */
export function registered(existing: AgentRecord | undefined, r: Registration, actor: Actor, now: number): AgentRecord {
  if (!existing) {
    return {
      agent_id: r.agent_id, display_name: r.display_name ?? null, agent_type: r.agent_type, environment: r.environment ?? null,
      capabilities: [...r.capabilities], allowed_resources: [...r.allowed_resources], sdk_version: r.sdk_version ?? null,
      metadata: r.metadata, model_id: null, trust_level: actor.admin ? 'admin' : 'self',
      registered_by: actor.name, updated_by: actor.name, created_at: now, updated_at: now,
    };
  }
  const keepGuarded = !actor.admin && existing.trust_level === 'admin';
  return touched(existing, {
    display_name: null, environment: null, sdk_version: null, ...described(r), ...(keepGuarded ? {} : guarded(r)),
    trust_level: actor.admin ? 'admin' : existing.trust_level,
  }, actor, now);
}

/** Guarded fields a patch would change that `actor` may not change. */
export function forbiddenChanges(existing: AgentRecord, patch: AgentPatch, actor: Actor): string[] {
  if (actor.admin || existing.trust_level !== 'admin') return [];
  const next = guarded(patch);
  return GUARDED_FIELDS.filter((f) => f in next && !same(next[f], existing[f]));
}

/** The record after `actor` applies `patch` (check forbiddenChanges first). */
export function patched(existing: AgentRecord, patch: AgentPatch, actor: Actor, now: number): AgentRecord {
  const g = guarded(patch);
  const trust = actor.admin && Object.keys(g).length > 0 ? 'admin' : existing.trust_level;
  const modelId = patch.model_id !== undefined ? { model_id: patch.model_id } : {};
  return touched(existing, { ...described(patch), ...g, ...modelId, trust_level: trust }, actor, now);
}

/** `existing` with `changes`; unchanged (same updated_at) when they change nothing. */
function touched(existing: AgentRecord, changes: Partial<AgentRecord>, actor: Actor, now: number): AgentRecord {
  const next = { ...existing, ...changes };
  if (same(next, existing)) return existing;
  return { ...next, updated_by: actor.name, updated_at: now };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
