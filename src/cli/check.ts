/**
 * `ascend-sidecar check`: evaluate one request against a config and explain the decision —
 * the policy author's `opa eval`. Accepts our GatewayRequest JSON or an Envoy CheckRequest
 * in proto3 JSON, and runs the same normalize → map → evaluate path as the servers.
 */
import type { Runtime } from '../config/runtime.js';
import { RequestError } from '../core/errors.js';
import type { ActionRequest } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import { checkRequestFromJson } from '../adapters/envoy/from-json.js';
import { fromCheckRequest } from '../adapters/envoy/from-check-request.js';
import { normalize } from '../gateway/normalize.js';
import type { AdapterName, RawGatewayRequest } from '../gateway/request.js';
import type { RiskFactor } from '../policy/risk.js';
import { requireIdentity } from '../pipeline/approval.js';
import { invalidRequestDecision } from '../pipeline/fail-mode.js';

export interface CheckReport {
  input_format: 'envoy_check_request' | 'gateway_request';
  request?: { method: string; host: string; path: string; raw_target: string };
  route?: string | null;
  action?: ActionRequest;
  decision: Decision;
  risk: readonly RiskFactor[];
  matched: readonly { id: string; name: string; priority: number; action: string; mode: string }[];
}

type Obj = Record<string, unknown>;

/** Our own request JSON: {method, path (or target), host, headers, scheme, source_ip, principal, metadata}. */
export function rawFromGatewayJson(j: Obj): RawGatewayRequest {
  const s = (k: string): string | undefined => (typeof j[k] === 'string' ? (j[k] as string) : undefined);
  return {
    adapter: (s('adapter') as AdapterName | undefined) ?? 'cli',
    method: s('method') ?? 'GET',
    target: s('target') ?? s('path') ?? '/',
    host: s('host') ?? '',
    scheme: s('scheme'),
    headers: (j.headers as Record<string, string> | undefined) ?? {},
    sourceIp: s('source_ip'),
    principal: s('principal'),
    requestId: s('request_id'),
    metadata: j.metadata as Record<string, unknown> | undefined,
  };
}

export function explainRequest(rt: Runtime, json: unknown): CheckReport {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('the request file must hold a JSON object');
  }
  const isEnvoy = 'attributes' in json;
  const raw = isEnvoy ? fromCheckRequest(checkRequestFromJson(json)) : rawFromGatewayJson(json as Obj);
  const input_format = isEnvoy ? 'envoy_check_request' : 'gateway_request';
  let req;
  let mapped;
  let ex;
  try {
    req = normalize(raw, rt.normalize);
    mapped = rt.mapper.map(req);
    // Evaluation may refuse the request too (invalid_number), exactly as the server does.
    ex = rt.engine.explain(mapped.input);
  } catch (e) {
    if (!(e instanceof RequestError)) throw e;
    return { input_format, decision: invalidRequestDecision(e), risk: [], matched: [] };
  }
  return {
    input_format,
    request: { method: req.method, host: req.host, path: req.path, raw_target: req.rawTarget },
    route: mapped.route ?? null,
    action: mapped.input.action,
    decision: requireIdentity(ex.decision, mapped.input.action, rt.config.responses.denied_status),
    risk: ex.risk,
    matched: ex.matched,
  };
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
    lines.push(`action:     ${a.action_type} on ${a.resource} by ${a.agent_id ?? '(no agent identity)'}`);
    if (Object.keys(a.parameters).length > 0) lines.push(`parameters: ${JSON.stringify(a.parameters)}`);
  }
  lines.push(`risk:       ${d.riskScore}`);
  for (const f of r.risk) lines.push(`  ${f.points >= 0 ? '+' : ''}${f.points}\t${f.factor}: ${f.detail}`);
  lines.push(`matched:    ${r.matched.length === 0 ? '(no policy)' : ''}`);
  for (const m of r.matched) lines.push(`  ${m.id} (priority ${m.priority}, ${m.action}${m.mode === 'monitor' ? ', monitor' : ''}) ${m.name}`);
  return lines.join('\n');
}
