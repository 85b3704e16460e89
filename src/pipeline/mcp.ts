/**
 * An MCP message through the pipeline: every governed JSON-RPC call is its own check (its own
 * action, decision, decision-log line and audit record); the message is answered once. Any
 * denial denies the whole message, else any pending call makes it pending, else it is allowed —
 * a batch is never half forwarded. A message with nothing governed (initialize, ping, lists,
 * notifications) is allowed without policy and recorded once as `mcp_ungoverned`.
 */
import type { Decision } from '../core/decision.js';
import type { EvalInput } from '../core/action.js';
import type { McpMapped } from '../mapping/mapper.js';
import type { CheckResult } from './result.js';

export interface McpSteps {
  /** One call's check (recorded by the pipeline), its result carrying the message's `mcp` answer. */
  evaluate(input: EvalInput): CheckResult | Promise<CheckResult>;
  /** Records a message with nothing to govern under `decision` (its result carrying the `mcp` answer). */
  ungoverned(decision: Decision): CheckResult;
}

export const MCP_UNGOVERNED: Decision = Object.freeze({
  decision: 'allowed',
  reason: 'MCP housekeeping (not governed: mcp.govern)',
  code: 'mcp_ungoverned',
  policyId: null,
  policyName: null,
  riskScore: 0,
  flagged: false,
  approvers: undefined,
  workflow: undefined,
  monitor: undefined,
  failOpen: false,
  httpStatus: 200,
});

const RANK = { denied: 2, pending: 1, allowed: 0 } as const;

/** The call that decides the message: the first denial, else the first pending, else the first call. */
export function decidingResult(results: readonly CheckResult[]): CheckResult {
  let best = results[0] as CheckResult;
  for (const r of results) if (RANK[r.decision.decision] > RANK[best.decision.decision]) best = r;
  return best;
}

export function checkMcp(m: McpMapped, steps: McpSteps): CheckResult | Promise<CheckResult> {
  if (m.inputs.length === 0) return steps.ungoverned(MCP_UNGOVERNED);
  const results = m.inputs.map((i) => steps.evaluate(i));
  if (results.every((r): r is CheckResult => !(r instanceof Promise))) return decidingResult(results);
  return Promise.all(results).then(decidingResult);
}
