/**
 * `ascend-sidecar check`: evaluate one request against a config and explain the decision —
 * the policy author's `opa eval`. Accepts an HTTP request, an Envoy CheckRequest in proto3 JSON
 * or a Kong opa input (cli/request-file.ts), and runs the same normalize → map → evaluate path
 * as the servers.
 */
import type { Runtime } from '../config/runtime.js';
import { RequestError } from '../core/errors.js';
import type { ActionRequest, EvalInput } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import { normalize } from '../gateway/normalize.js';
import type { RiskFactor } from '../policy/risk.js';
import { requireIdentity } from '../pipeline/approval.js';
import { invalidRequestDecision } from '../pipeline/fail-mode.js';
import { MCP_UNGOVERNED } from '../pipeline/mcp.js';
import { requestFromJson, type RequestFormat } from './request-file.js';

export interface MatchedPolicy { id: string; name: string; priority: number; action: string; mode: string }

export interface CheckReport {
  input_format: RequestFormat;
  request?: { method: string; host: string; path: string; raw_target: string };
  route?: string | null;
  action?: ActionRequest;
  decision: Decision;
  risk: readonly RiskFactor[];
  matched: readonly MatchedPolicy[];
  /** An MCP message: how many calls were governed (each evaluated; the deciding one is reported). */
  mcp_calls?: number;
  /** Every policy whose conditions held, over all calls of an MCP message (for test --coverage). */
  all_matched?: readonly string[];
}

const RANK = { denied: 2, pending: 1, allowed: 0 } as const;

interface Explained {
  input: EvalInput;
  decision: Decision;
  risk: readonly RiskFactor[];
  matched: readonly MatchedPolicy[];
}

/**
 * Evaluates a request file's JSON exactly as the server does (normalize → map → evaluate; every
 * call of an MCP message, the first denial, else pending, deciding). Throws RequestFileError for
 * a file that does not describe a request.
 */
export function explainRequest(rt: Runtime, json: unknown): CheckReport {
  const { raw, format: input_format } = requestFromJson(json);
  let req;
  let mapped;
  const calls: Explained[] = [];
  try {
    req = normalize(raw, rt.normalize);
    mapped = rt.mapper.map(req);
    const inputs = mapped.mcp !== undefined ? mapped.mcp.inputs : [mapped.input];
    // Evaluation may refuse the request too (invalid_number, body_truncated), exactly as the server does.
    for (const input of inputs) {
      const ex = rt.engine.explain(input);
      calls.push({ input, decision: requireIdentity(ex.decision, input.action, rt.config.responses.denied_status), risk: ex.risk, matched: ex.matched });
    }
  } catch (e) {
    if (!(e instanceof RequestError)) throw e;
    return { input_format, decision: invalidRequestDecision(e), risk: [], matched: [] };
  }
  const request = { method: req.method, host: req.host, path: req.path, raw_target: req.rawTarget };
  const route = mapped.route ?? null;
  if (calls.length === 0) {
    return { input_format, request, route, action: mapped.input.action, decision: MCP_UNGOVERNED, risk: [], matched: [], mcp_calls: 0, all_matched: [] };
  }
  let deciding = calls[0] as Explained;
  for (const c of calls) if (RANK[c.decision.decision] > RANK[deciding.decision.decision]) deciding = c;
  const report: CheckReport = {
    input_format, request, route, action: deciding.input.action, decision: deciding.decision, risk: deciding.risk, matched: deciding.matched,
  };
  if (mapped.mcp !== undefined) {
    report.mcp_calls = calls.length;
    report.all_matched = [...new Set(calls.flatMap((c) => c.matched.map((m) => m.id)))];
  }
  return report;
}

export function formatReport(r: CheckReport): string {
  const d = r.decision;
  const lines = [`decision:   ${d.decision}${d.flagged ? ' (flagged)' : ''}`, `reason:     ${d.reason}`, `policy:     ${d.policyId ?? '(none)'}`];
  if (d.approvers) lines.push(`approvers:  ${d.approvers.join(', ')}`);
  if (d.monitor) lines.push(`monitor:    enforcement would have answered ${d.monitor.wouldBe} (policy ${d.monitor.policyId ?? 'default'})`);
  if (r.request) lines.push(`request:    ${r.request.method} ${r.request.host}${r.request.path}${r.request.raw_target !== r.request.path ? `  (received ${r.request.raw_target})` : ''}`);
  if (r.action) {
    const a = r.action;
    lines.push(`route:      ${r.route ?? '(none: default action)'}`);
    if (r.mcp_calls !== undefined) lines.push(`mcp:        ${r.mcp_calls} governed call${r.mcp_calls === 1 ? '' : 's'}${r.mcp_calls > 1 ? ' (the deciding one below)' : ''}`);
    lines.push(`action:     ${a.action_type} on ${a.resource} by ${a.agent_id ?? '(no agent identity)'}`);
    if (Object.keys(a.parameters).length > 0) lines.push(`parameters: ${JSON.stringify(a.parameters)}`);
  }
  lines.push(`risk:       ${d.riskScore}`);
  for (const f of r.risk) lines.push(`  ${f.points >= 0 ? '+' : ''}${f.points}\t${f.factor}: ${f.detail}`);
  lines.push(`matched:    ${r.matched.length === 0 ? '(no policy)' : ''}`);
  for (const m of r.matched) lines.push(`  ${m.id} (priority ${m.priority}, ${m.action}${m.mode === 'monitor' ? ', monitor' : ''}) ${m.name}`);
  return lines.join('\n');
}
