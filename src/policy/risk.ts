/**
 * Risk score 0–100 from documented, configurable factors (README "Risk scoring"):
 * base (replaced by the first matching `action_types` pattern) + every matching `resources`
 * pattern + the environment (`context.environment`) + the agent type (or
 * `unregistered_agent`) + `write_method` for writes. Clamped to 0..100.
 */
import type { RiskConfig } from '../config/schema.js';
import type { EvalInput } from '../core/action.js';
import { compileGlob } from './glob.js';

export interface RiskFactor {
  readonly factor: 'base' | 'action_type' | 'resource' | 'environment' | 'agent_type' | 'unregistered_agent' | 'write_method';
  readonly detail: string;
  readonly points: number;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const READ_VERBS = new Set(['read', 'get', 'list', 'search', 'query', 'view', 'describe', 'fetch']);

/** A write is any method but GET/HEAD/OPTIONS; without a method, an action_type not ending in a read verb. */
export function isWrite(method: string | undefined, actionType: string): boolean {
  if (method !== undefined) return !READ_METHODS.has(method);
  const verb = actionType.slice(actionType.lastIndexOf('.') + 1).toLowerCase();
  return !READ_VERBS.has(verb);
}

interface Pattern {
  readonly match: string;
  readonly test: (s: string) => boolean;
  readonly score: number;
}

export class RiskModel {
  private readonly actionTypes: readonly Pattern[];
  private readonly resources: readonly Pattern[];

  constructor(private readonly cfg: RiskConfig) {
    const compile = (p: { match: string; score: number }): Pattern => ({ ...p, test: compileGlob(p.match) });
    this.actionTypes = cfg.action_types.map(compile);
    this.resources = cfg.resources.map(compile);
  }

  /** Scores an action; pushes the breakdown into `explain` when given (for `check`). */
  score(input: EvalInput, explain?: RiskFactor[]): number {
    const { action, agent } = input;
    const add = (factor: RiskFactor['factor'], detail: string, points: number): number => {
      if (explain && points !== 0) explain.push({ factor, detail, points });
      return points;
    };
    const typed = this.actionTypes.find((p) => p.test(action.action_type));
    let score = typed
      ? add('action_type', `action_type matches "${typed.match}"`, typed.score)
      : add('base', 'base score', this.cfg.base);
    for (const p of this.resources) {
      if (p.test(action.resource)) score += add('resource', `resource matches "${p.match}"`, p.score);
    }
    const env = action.context.environment;
    if (typeof env === 'string') {
      const points = this.cfg.environments[env];
      if (points !== undefined) score += add('environment', `environment "${env}"`, points);
    }
    if (!agent.registered) {
      score += add('unregistered_agent', agent.id === null ? 'no agent identity' : `agent "${agent.id}" is not registered`, this.cfg.unregistered_agent);
    } else if (agent.type !== undefined) {
      const points = this.cfg.agent_types[agent.type];
      if (points !== undefined) score += add('agent_type', `agent type "${agent.type}"`, points);
    }
    if (isWrite(input.request?.method, action.action_type)) {
      score += add('write_method', input.request ? `${input.request.method} is a write` : 'action is a write', this.cfg.write_method);
    }
    return Math.max(0, Math.min(100, score));
  }
}
