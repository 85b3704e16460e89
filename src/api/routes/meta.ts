/**
 * What the ASCEND SDK asks about the service rather than about an action: its deployment
 * (GET /api/deployment-info, for test_connection), how a resource is classified
 * (GET /api/v1/resource-classifications, from the risk config), and a dry run of the policies
 * (POST /api/governance/policies/evaluate-realtime: which policy would decide and why, nothing
 * stored, cached or sent for approval). GET /health, also for test_connection, sits outside
 * /api and needs no key (plugin.ts).
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { EvalInput } from '../../core/action.js';
import { RequestError } from '../../core/errors.js';
import { requireIdentity } from '../../pipeline/approval.js';
import { invalidRequestDecision } from '../../pipeline/fail-mode.js';
import { compileGlob } from '../../policy/glob.js';
import { agentOf, principalOf, READ_ROLES } from '../auth.js';
import type { ApiDeps } from '../context.js';

import { EvaluateBody } from '../sdk-schemas.js';
import { riskLevel } from '../sdk-views.js';
import { apiContext } from './authorization.js';
import { errors } from '../error-docs.js';

const open = { additionalProperties: true } as const;

/** Every resource pattern of the risk config that `resource` matches, and the sensitivity they add up to. */
function classify(deps: ApiDeps, resource: string): Record<string, unknown> {
  const matched = deps.state.runtime.config.risk.resources.filter((p) => compileGlob(p.match)(resource));
  const score = matched.reduce((sum, p) => sum + p.score, 0);
  return {
    resource_id: resource, resource_type: resource, sensitivity_level: riskLevel(Math.max(0, Math.min(100, score))),
    compliance_tags: [], metadata: { risk_points: score, patterns: matched.map((p) => p.match) },
  };
}

export function metaRoutes(api: FastifyInstance, deps: ApiDeps, version: string): void {
  api.get('/deployment-info', {
    config: { roles: READ_ROLES },
    schema: { tags: ['meta'], summary: 'Version, environment, fail mode and features of this sidecar', response: { 200: T.Object({ version: T.String(), environment: T.String(), fail_mode: T.String(), features: T.Array(T.String()) }, open), ...errors() } },
  }, async () => {
    const c = deps.state.runtime.config;
    const durable = deps.layer ? ['approvals', 'webhooks', 'audit', 'agent_activity'] : [];
    return {
      version, environment: c.api.environment, fail_mode: c.fail_mode, mode: c.mode,
      features: ['envoy_ext_authz', 'kong', 'kong_opa', 'forward_auth', 'sdk_v1', 'mcp', 'policy_dry_run', ...durable],
      config_version: deps.state.runtime.version, config_hash: deps.state.runtime.hash,
    };
  });

  api.get('/v1/resource-classifications', {
    config: { roles: READ_ROLES },
    schema: {
      tags: ['meta'], summary: 'How a resource is classified by the risk config (resource or resource_type: the resource to classify); without either, every pattern',
      querystring: T.Object({ resource: T.Optional(T.String({ minLength: 1 })), resource_type: T.Optional(T.String({ minLength: 1 })) }),
      response: { 200: T.Object({ classifications: T.Array(T.Object({}, open)) }), ...errors() },
    },
  }, async (req) => {
    const q = req.query as { resource?: string; resource_type?: string };
    const resource = q.resource ?? q.resource_type;
    if (resource !== undefined) return { classifications: [classify(deps, resource)] };
    return {
      classifications: deps.state.runtime.config.risk.resources.map((p) => ({
        resource_id: p.match, resource_type: p.match, sensitivity_level: riskLevel(Math.max(0, Math.min(100, p.score))), compliance_tags: [], metadata: { risk_points: p.score },
      })),
    };
  });

  api.post('/governance/policies/evaluate-realtime', {
    config: { roles: ['admin', 'agent', 'approver', 'viewer'] },
    schema: {
      tags: ['meta'], summary: 'Dry run: which policy would decide this action and why (nothing stored, cached or sent for approval)',
      body: EvaluateBody, response: { 200: T.Object({ decision: T.String(), matched_policies: T.Array(T.Object({}, open)), violations: T.Array(T.String()), risk_score: T.Number(), evaluation_time_ms: T.Number() }, open), ...errors({ body: true, codes: ['agent_mismatch'] }) },
    },
  }, async (req) => {
    const t0 = performance.now();
    const p = principalOf(req);
    const b = req.body as { agent_id?: string; action_type: string; resource: string; context?: Record<string, unknown>; parameters?: Record<string, unknown> };
    const rt = deps.state.runtime;
    const agentId = p.role === 'agent' || b.agent_id !== undefined ? agentOf(p, b.agent_id, { part: 'body', field: 'agent_id' }) : null;
    const action = { agent_id: agentId, action_type: b.action_type, resource: b.resource, parameters: b.parameters ?? {}, context: apiContext(p, b.context) };
    const input: EvalInput = { action, agent: rt.mapper.agents.view(agentId), request: undefined, risk: { score: 0 } };
    let ex;
    try {
      ex = rt.engine.explain(input);
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      const d = invalidRequestDecision(e);
      return { decision: d.decision, code: d.code, reason: d.reason, matched_policies: [], violations: [d.reason], risk_score: 0, evaluation_time_ms: performance.now() - t0 };
    }
    const d = requireIdentity(ex.decision, action, rt.config.responses.denied_status);
    return {
      decision: d.decision, code: d.code, reason: d.reason, policy_id: d.policyId, approvers: d.approvers ?? [],
      matched_policies: ex.matched, violations: d.decision === 'allowed' ? [] : [d.reason],
      risk_score: d.riskScore, risk_level: riskLevel(d.riskScore), risk_factors: ex.risk,
      evaluation_time_ms: performance.now() - t0,
    };
  });
}
