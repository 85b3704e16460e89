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
import { decide, type DecideSettings } from './decide.js';
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
  /** Every condition path the policies read; the cache key must cover them. */
  readonly reads: ReadonlySet<string>;

  constructor(
    readonly policies: readonly CompiledPolicy[],
    private readonly risk: RiskModel,
    private readonly settings: DecideSettings,
  ) {
    this.index = new PolicyIndex(policies);
    this.reads = new Set(policies.flatMap((p) => p.conditions.map((c) => c.path)));
  }

  static compile(configs: readonly PolicyConfig[], risk: RiskModel, settings: DecideSettings, issues: IssueList): PolicyEngine {
    const compiled: CompiledPolicy[] = [];
    configs.forEach((p, i) => {
      const c = compilePolicy(p, i, issues);
      if (c && p.enabled) compiled.push(c);
    });
    return new PolicyEngine(compiled, risk, settings);
  }

  /** Scores risk into `input.risk` and decides. Synchronous and allocation-light. */
  evaluate(input: EvalInput): Decision {
    input.risk.score = this.risk.score(input);
    let monitorHit: CompiledPolicy | undefined;
    for (const p of this.index.candidates(input.action.action_type)) {
      if (!allHold(p.conditions, input)) continue;
      if (p.mode === 'monitor') {
        monitorHit ??= p;
        continue;
      }
      return decide(p, monitorHit, input.risk.score, this.settings);
    }
    return decide(undefined, monitorHit, input.risk.score, this.settings);
  }

  /** Like evaluate, plus the risk breakdown and every matching policy (for `check`). */
  explain(input: EvalInput): Explanation {
    const risk: RiskFactor[] = [];
    this.risk.score(input, risk);
    const decision = this.evaluate(input);
    const matched = this.index
      .candidates(input.action.action_type)
      .filter((p) => allHold(p.conditions, input))
      .map((p) => ({ id: p.id, name: p.name, priority: p.priority, action: p.action, mode: p.mode }));
    return { decision, risk, matched };
  }
}
