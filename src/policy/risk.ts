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

  /** Scores an action (hot path: loops, no closures, no strings built). */
  score(input: EvalInput): number {
    const { action, agent } = input;
    const typed = this.firstType(action.action_type);
    let score = typed === undefined ? this.cfg.base : typed.score;
    for (let i = 0; i < this.resources.length; i++) {
      const p = this.resources[i] as Pattern;
      if (p.test(action.resource)) score += p.score;
    }
    const env = action.context.environment;
    if (typeof env === 'string' && Object.prototype.hasOwnProperty.call(this.cfg.environments, env)) score += this.cfg.environments[env] as number;
    if (!agent.registered) score += this.cfg.unregistered_agent;
    else if (agent.type !== undefined) score += this.cfg.agent_types[agent.type] ?? 0;
    if (isWrite(input.request?.method, action.action_type)) score += this.cfg.write_method;
    return Math.max(0, Math.min(100, score));
  }

  /** The same score with every factor spelled out (for `check`), the score their sum; must add up like score(). */
  explain(input: EvalInput): { score: number; factors: RiskFactor[] } {
    const { action, agent } = input;
    const factors: RiskFactor[] = [];
    const add = (factor: RiskFactor['factor'], detail: string, points: number): void => {
      if (points !== 0) factors.push({ factor, detail, points });
    };
    const typed = this.firstType(action.action_type);
    if (typed) add('action_type', `action_type matches "${typed.match}"`, typed.score);
    else add('base', 'base score', this.cfg.base);
    for (const p of this.resources) if (p.test(action.resource)) add('resource', `resource matches "${p.match}"`, p.score);
    const env = action.context.environment;
    if (typeof env === 'string' && Object.prototype.hasOwnProperty.call(this.cfg.environments, env)) {
      add('environment', `environment "${env}"`, this.cfg.environments[env] as number);
    }
    if (!agent.registered) {
      add('unregistered_agent', agent.id === null ? 'no agent identity' : `agent "${agent.id}" is not registered`, this.cfg.unregistered_agent);
    } else if (agent.type !== undefined) {
      add('agent_type', `agent type "${agent.type}"`, this.cfg.agent_types[agent.type] ?? 0);
    }
    if (isWrite(input.request?.method, action.action_type)) {
      add('write_method', input.request ? `${input.request.method} is a write` : 'action is a write', this.cfg.write_method);
    }
    // The factors are the score's terms (a factor of 0 points adds nothing), clamped as score() does.
    let sum = 0;
    for (const f of factors) sum += f.points;
    return { score: Math.max(0, Math.min(100, sum)), factors };
  }

  private firstType(actionType: string): Pattern | undefined {
    for (let i = 0; i < this.actionTypes.length; i++) {
      const p = this.actionTypes[i] as Pattern;
      if (p.test(actionType)) return p;
    }
    return undefined;
  }
}
