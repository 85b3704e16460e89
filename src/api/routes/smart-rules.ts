/**
 * GET /api/smart-rules/suggestions?since=7d: policy suggestions from the audit trail
 * (policy/suggest.ts; the same as `ascend-sidecar suggest --store`). Read-only: nothing is
 * applied to the running config.
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parseSince, readObservations } from '../../policy/suggest-audit.js';
import { suggest } from '../../policy/suggest.js';
import { requireLayer, type ApiDeps } from '../context.js';
import { errors } from '../error-docs.js';
import { ApiError } from '../errors.js';

const Query = T.Object({
  since: T.Optional(T.String({ pattern: '^[0-9]{1,6}[dhm]$', description: 'How far back to read the audit trail: 7d (default), 12h, 30m' })),
  min_count: T.Optional(T.Integer({ minimum: 1, description: 'Fewest observations a pattern needs (default 5)' })),
}, { additionalProperties: false });

const SuggestionView = T.Object({
  kind: T.String({ enum: ['frequent_denial', 'always_approved', 'unused_allow', 'agent_anomaly'] }),
  action_type: T.String(), agent_id: T.Optional(T.String()), why: T.String(),
  suggested_policy: T.Record(T.String(), T.Unknown()),
  evidence: T.Object({ count: T.Integer(), since: T.String(), until: T.String() }, { additionalProperties: true }),
});

export function smartRuleRoutes(api: FastifyInstance, deps: ApiDeps): void {
  api.get('/smart-rules/suggestions', {
    config: { roles: ['admin', 'viewer'] },
    schema: {
      tags: ['smart rules'], summary: 'Policy suggestions from the audit trail (never applied)', querystring: Query,
      response: { 200: T.Object({ since: T.String(), until: T.String(), decisions: T.Integer(), suggestions: T.Array(SuggestionView) }), ...errors({ store: true }) },
    },
  }, async (req) => {
    const { store } = requireLayer(deps);
    const q = req.query as { since?: string; min_count?: number };
    const ms = parseSince(q.since ?? '7d');
    if (ms === undefined) throw new ApiError(400, 'invalid_request', 'querystring.since: use 7d, 12h or 30m', 'since');
    const now = deps.now();
    const rt = deps.state.runtime;
    const obs = await readObservations(store, rt, now - ms);
    return {
      since: new Date(now - ms).toISOString(), until: new Date(now).toISOString(), decisions: obs.length,
      suggestions: suggest(obs, { policies: rt.config.policies, minCount: q.min_count }),
    };
  });
}
