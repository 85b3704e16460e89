/**
 * CheckResult → the answer our Kong plugin applies (deploy/kong/README.md "The sidecar's
 * answer"). Always HTTP 200, denials included: the plugin treats anything else as "no
 * answer" and falls back to its fail_mode. Header values are strings.
 *
 * allowed → `upstream_headers` = the x-ascend-* headers, `client_headers` = decision and
 * action id (the agent can quote them); denied/pending → `status`, the JSON denial `body`
 * and `client_headers` with its content-type and the x-ascend-* headers (an MCP client: status
 * 200 and a JSON-RPC error body, adapters/render.ts).
 */
import type { CheckResult } from '../../pipeline/result.js';
import { decisionHeaders, refusal } from '../render.js';

export interface PluginAnswer {
  allow: boolean;
  status: number;
  decision: string;
  action_id: string;
  risk_score: number;
  approval_id: string | null;
  reason: string;
  upstream_headers: Record<string, string>;
  client_headers: Record<string, string>;
  body: string | null;
}

export function toPluginAnswer(r: CheckResult): PluginAnswer {
  const d = r.decision;
  const allow = d.decision === 'allowed';
  const headers = Object.fromEntries(decisionHeaders(r));
  const refused = allow ? undefined : refusal(r);
  return {
    allow,
    status: refused?.status ?? 200,
    decision: d.decision,
    action_id: r.actionId,
    risk_score: d.riskScore,
    approval_id: r.approvalId ?? null,
    reason: d.reason,
    upstream_headers: allow ? headers : {},
    client_headers: allow
      ? { 'x-ascend-decision': d.decision, 'x-ascend-action-id': r.actionId }
      : { 'content-type': 'application/json', ...headers },
    body: refused?.body ?? null,
  };
}
