import type { IssueList } from '../config/errors.js';
import type { PolicyConfig } from '../config/schema.js';
import type { PolicyAction } from '../core/decision.js';
import { compileConditions, compileValue, type CompiledCondition, type Matcher } from './conditions.js';

export interface CompiledPolicy {
  readonly id: string;
  readonly name: string;
  readonly priority: number;
  readonly action: PolicyAction;
  readonly mode: 'enforce' | 'monitor';
  readonly approvers: readonly string[] | undefined;
  readonly workflow: string | undefined;
  readonly reason: string | undefined;
  readonly conditions: readonly CompiledCondition[];
  /** Position in the file: the last tie-breaker. */
  readonly order: number;
  /** Set when the action_type condition names exact types (the index buckets on them). */
  readonly exactTypes: readonly string[] | undefined;
  /** The action_type matcher when it is a pattern; undefined when there is no such condition. */
  readonly typeTest: Matcher | undefined;
}

/** Compiles one enabled policy; returns undefined (with issues recorded) when it is invalid. */
export function compilePolicy(p: PolicyConfig, order: number, issues: IssueList): CompiledPolicy | undefined {
  const at = ['policies', order];
  const before = issues.items.length;
  const conditions = compileConditions(p.conditions, issues, [...at, 'conditions']);
  if (p.action === 'require_approval' && !p.approvers && !p.workflow) {
    issues.add([...at, 'approvers'], 'a require_approval policy needs approvers or a workflow');
  }
  if (p.action !== 'require_approval' && (p.approvers || p.workflow)) {
    issues.add([...at, p.approvers ? 'approvers' : 'workflow'], 'only require_approval policies take approvers or a workflow');
  }
  if (issues.items.length !== before) return undefined;
  const typeSpec = p.conditions.action_type;
  const exactTypes = typeSpec === undefined ? undefined : exactActionTypes(typeSpec);
  const typeTest = typeSpec === undefined || exactTypes ? undefined : compileValue(typeSpec, issues, [...at, 'conditions', 'action_type']);
  return {
    id: p.id,
    name: p.name === '' ? p.id : p.name,
    priority: p.priority,
    action: p.action,
    mode: p.mode,
    approvers: p.approvers,
    workflow: p.workflow,
    reason: p.reason,
    conditions,
    order,
    exactTypes,
    typeTest,
  };
}

/** Exact action types named by a condition value, or undefined when it is a pattern/operator. */
export function exactActionTypes(spec: unknown): string[] | undefined {
  const exact = (v: unknown): v is string => typeof v === 'string' && v.indexOf('*') === -1;
  if (exact(spec)) return [spec];
  if (Array.isArray(spec) && spec.every(exact)) return spec;
  if (spec !== null && typeof spec === 'object' && !Array.isArray(spec)) {
    const keys = Object.keys(spec);
    const list = (spec as Record<string, unknown>).in;
    if (keys.length === 1 && Array.isArray(list) && list.every(exact)) return list;
  }
  return undefined;
}
