/**
 * A/B tests of policies (README "A/B tests"): `POST /api/ab-tests` starts one on the running
 * config's policies (admin keys), `GET /api/ab-tests` lists the config's and the API's with
 * their status, `GET /api/ab-tests/{id}/results` counts decisions, approvals and denials per
 * variant and, for shadow tests, divergences. Tests made here are written to the store when
 * there is one (every replica runs them, a restart keeps them), else they live in this process
 * (pipeline/ab-registry.ts).
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { READ_ROLES } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { errors } from '../error-docs.js';
import { ApiError, notFound } from '../errors.js';
import { abTestRecord } from '../../pipeline/ab-registry.js';

const tags = ['A/B tests'];

export const AbTestBody = T.Object(
  {
    name: T.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    control_policy: T.String({ minLength: 1 }),
    test_policy: T.String({ minLength: 1 }),
    traffic_split: T.Number({ minimum: 0, maximum: 100, description: 'Percent of the requests in the test that get the test policy' }),
    duration_days: T.Number({ exclusiveMinimum: 0, maximum: 3650 }),
    start: T.Optional(T.String({ minLength: 1, description: 'ISO 8601; default now' })),
    shadow: T.Optional(T.Boolean({ description: 'Enforce the control for everyone, count where the test policy would differ' })),
  },
  { additionalProperties: false },
);

const Counts = T.Object({ decisions: T.Integer(), allowed: T.Integer(), denied: T.Integer(), pending: T.Integer() });
const AbTestView = T.Object({
  id: T.String(), name: T.String(), control_policy: T.String(), test_policy: T.String(), traffic_split: T.Number(), duration_days: T.Number(),
  start: T.String(), end: T.String(), shadow: T.Boolean(), source: T.String({ enum: ['config', 'api'] }),
  status: T.String({ enum: ['scheduled', 'running', 'finished'] }),
});
const AbResultsView = T.Composite([AbTestView, T.Object({
  variants: T.Object({ control: Counts, test: Counts }),
  divergences: T.Integer({ description: 'Shadow tests: requests the test policy would have decided otherwise' }),
  since: T.Union([T.String(), T.Null()]), until: T.Union([T.String(), T.Null()]),
})]);
const IdParams = T.Object({ id: T.String() });

type Body = { name: string; control_policy: string; test_policy: string; traffic_split: number; duration_days: number; start?: string; shadow?: boolean };

export function abTestRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const registry = deps.state.ab;
  const find = (id: string) => {
    const t = registry.tests(deps.state.runtime).find((x) => x.name === id);
    if (t === undefined) throw notFound('A/B test', id);
    return t;
  };

  api.post('/ab-tests', {
    config: { roles: ['admin'] },
    schema: { tags, summary: 'Start an A/B test of two policies of the running config', body: AbTestBody, response: { 201: AbTestView, ...errors({ body: true }) } },
  }, async (req, reply) => {
    const b = req.body as Body;
    const rt = deps.state.runtime;
    for (const field of ['control_policy', 'test_policy'] as const) {
      if (!rt.config.policies.some((p) => p.id === b[field] && p.enabled)) throw new ApiError(400, 'invalid_request', `body.${field}: no enabled policy "${b[field]}"`, field);
    }
    if (b.control_policy === b.test_policy) throw new ApiError(400, 'invalid_request', 'body.test_policy: must differ from control_policy', 'test_policy');
    const start = b.start === undefined ? undefined : Date.parse(b.start);
    if (start !== undefined && Number.isNaN(start)) throw new ApiError(400, 'invalid_request', `body.start: "${b.start}" is not an ISO 8601 date-time`, 'start');
    const exists = () => new ApiError(400, 'invalid_request', `body.name: an A/B test named "${b.name}" exists`, 'name');
    const t = registry.prepare(rt, { ...b, shadow: b.shadow === true, start });
    if (t === undefined) throw exists();
    // The store first: a test another replica stored under this name (not yet seen here) wins.
    const store = deps.layer?.store;
    if (store !== undefined && !(await store.createAbTest(abTestRecord(t, deps.now())))) throw exists();
    registry.add(t);
    // Cached decisions were taken without this test.
    deps.state.cache.clear();
    deps.logger.info({ ab_test: t.name, control: t.control_policy, test: t.test_policy, split: t.traffic_split }, 'A/B test created');
    return reply.code(201).send(registry.view(t));
  });

  api.get('/ab-tests', {
    config: { roles: READ_ROLES },
    schema: { tags, summary: 'Every A/B test (config and API) with its status', response: { 200: T.Object({ ab_tests: T.Array(AbTestView) }), ...errors() } },
  }, async () => ({ ab_tests: registry.tests(deps.state.runtime).map((t) => registry.view(t)) }));

  api.get('/ab-tests/:id/results', {
    config: { roles: READ_ROLES },
    schema: { tags, summary: 'Decisions, approvals and denials per variant; divergences of a shadow test', params: IdParams, response: { 200: AbResultsView, ...errors({ codes: ['not_found'] }) } },
  }, async (req) => registry.resultsView(find((req.params as { id: string }).id)));
}
