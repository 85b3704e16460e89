/**
 * Policies indexed by action_type so that evaluation cost does not grow with the number of
 * policies: each exact action type gets a pre-merged, pre-sorted candidate list (its own
 * policies, the pattern policies that match it, and the policies with no action_type
 * condition). Unknown action types fall back to the pattern + unconstrained list.
 */
import { RESTRICTIVENESS } from '../core/decision.js';
import type { CompiledPolicy } from './policy.js';

/** Priority first, then restrictiveness, then file order: the first match in this order wins. */
export function comparePolicies(a: CompiledPolicy, b: CompiledPolicy): number {
  return b.priority - a.priority || RESTRICTIVENESS[b.action] - RESTRICTIVENESS[a.action] || a.order - b.order;
}

export class PolicyIndex {
  private readonly byType = new Map<string, CompiledPolicy[]>();
  private readonly fallback: CompiledPolicy[];

  constructor(policies: readonly CompiledPolicy[]) {
    const exact = new Map<string, CompiledPolicy[]>();
    const patterned: CompiledPolicy[] = [];
    for (const p of policies) {
      if (p.exactTypes) {
        for (const t of p.exactTypes) {
          const list = exact.get(t);
          if (list) list.push(p);
          else exact.set(t, [p]);
        }
      } else {
        patterned.push(p);
      }
    }
    this.fallback = [...patterned].sort(comparePolicies);
    for (const [type, own] of exact) {
      const extra = patterned.filter((p) => p.typeTest === undefined || p.typeTest(type));
      this.byType.set(type, [...new Set([...own, ...extra])].sort(comparePolicies));
    }
  }

  candidates(actionType: string): readonly CompiledPolicy[] {
    return this.byType.get(actionType) ?? this.fallback;
  }
}
