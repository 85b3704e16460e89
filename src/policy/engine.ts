/**
 * The local policy engine: compiled once per config load, evaluated per check.
 * The first matching policy in (priority, restrictiveness, file order) wins; monitor-mode
 * policies never decide, they only record what they would have done.
 */
import type { IssueList } from '../config/errors.js';
import type { PolicyConfig } from '../config/schema.js';
import type { EvalInput } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import { allHold } from './conditions.js';
import { Decider, type DecideSettings } from './decide.js';
import { PolicyIndex } from './index-by-type.js';
import { compilePolicy, type CompiledPolicy } from './policy.js';
import type { RiskFactor, RiskModel } from './risk.js';

export interface Explanation {
  readonly decision: Decision;
  readonly risk: readonly RiskFactor[];
  /** Every policy whose conditions hold, in evaluation order (the first enforce one decided). */
  readonly matched: readonly { id: string; name: string; priority: number; action: string; mode: string }[];
}

export class PolicyEngine {
  private readonly index: PolicyIndex;
  private readonly decider: Decider;
  /** Every condition path the policies read; the cache key must cover them. */
  readonly reads: ReadonlySet<string>;
  private readonly byId: ReadonlyMap<string, CompiledPolicy>;

  constructor(
    readonly policies: readonly CompiledPolicy[],
    private readonly risk: RiskModel,
    settings: DecideSettings,
  ) {
    this.index = new PolicyIndex(policies);
    this.decider = new Decider(settings);
    this.reads = new Set(policies.flatMap((p) => p.conditions.map((c) => c.path)));
    this.byId = new Map(policies.map((p) => [p.id, p]));
  }

  static compile(configs: readonly PolicyConfig[], risk: RiskModel, settings: DecideSettings, issues: IssueList): PolicyEngine {
    const compiled: CompiledPolicy[] = [];
    configs.forEach((p, i) => {
      const c = compilePolicy(p, i, issues);
      if (c && p.enabled) compiled.push(c);
    });
    return new PolicyEngine(compiled, risk, settings);
  }

  /**
   * Scores risk into `input.risk` and decides. Synchronous and allocation-light. `skip`: policies
   * set aside for this request (an A/B test's other variant, policy/ab.ts).
   */
  evaluate(input: EvalInput, skip?: ReadonlySet<string>): Decision {
    input.risk.score = this.risk.score(input);
    return this.decideScored(input, skip);
  }

  /**
   * Decides on the risk already in `input.risk` (scored by scoreRisk, as A/B membership does
   * first): the score is not computed again.
   */
  decideScored(input: EvalInput, skip?: ReadonlySet<string>): Decision {
    let monitorHit: CompiledPolicy | undefined;
    const candidates = this.index.candidates(input.action.action_type);
    for (let i = 0; i < candidates.length; i++) {
      const p = candidates[i] as CompiledPolicy;
      if (skip !== undefined && skip.has(p.id)) continue;
      if (!allHold(p.conditions, input)) continue;
      if (p.mode === 'monitor') {
        monitorHit ??= p;
        continue;
      }
      return this.decider.decide(p, monitorHit, input.risk.score);
    }
    return this.decider.decide(undefined, monitorHit, input.risk.score);
  }

  /** Scores risk into `input.risk`, as evaluate does first: for readers of conditions before it (A/B membership, then decideScored). */
  scoreRisk(input: EvalInput): void {
    input.risk.score = this.risk.score(input);
  }

  /** Whether the enabled policy `id`'s conditions hold for `input` (false for an unknown or disabled one). */
  holds(id: string, input: EvalInput): boolean {
    const p = this.byId.get(id);
    return p !== undefined && allHold(p.conditions, input);
  }

  /**
   * Like evaluate, plus the risk breakdown and every matching policy (for `check`). The risk is
   * scored once, by the breakdown: evaluate would score it again.
   */
  explain(input: EvalInput): Explanation {
    const { score, factors: risk } = this.risk.explain(input);
    input.risk.score = score;
    const decision = this.decideScored(input);
    const matched = this.index
      .candidates(input.action.action_type)
      .filter((p) => allHold(p.conditions, input))
      .map((p) => ({ id: p.id, name: p.name, priority: p.priority, action: p.action, mode: p.mode }));
    return { decision, risk, matched };
  }
}
