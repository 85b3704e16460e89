/**
 * The Kong plugin endpoint on the HTTP listener (adapter label `kong`):
 * `POST /kong/v1/authorize` (decisions) and `POST /kong/v1/complete` (completions, 204).
 */
import type { FastifyInstance } from 'fastify';
import type { ReplyLike, RequestLike } from '../../http/fast-routes.js';
import type { CheckResult } from '../../pipeline/result.js';
import { settleTo } from '../../pipeline/settle.js';
import { AnswerJson } from '../answer-json.js';
import { addFastRoute, renderProblem, setupScope, withConnection, type HttpAdapterDeps } from '../http-adapter.js';
import { fromPluginRequest } from './from-plugin-request.js';
import { CompletionSchema, PluginRequestSchema, type CompletionRequest, type PluginRequest } from './schema.js';
import { toPluginAnswer } from './to-plugin-response.js';

/** A completion is a few numbers: no reason to read more. */
const COMPLETE_BODY_LIMIT = 16 * 1024;

export function registerKong(http: FastifyInstance, deps: HttpAdapterDeps): void {
  const bodyLimit = deps.state.runtime.config.kong.body_limit_bytes;
  const scopeOptions = { adapter: 'kong', jsonOnly: true, render: renderProblem } as const;
  const answers = new AnswerJson(toPluginAnswer);
  const send = (reply: ReplyLike, r: CheckResult): void => answers.send(reply, r);
  const failed = (): CheckResult => deps.pipeline.fail('kong', 'evaluation_error');
  const authorize = (req: RequestLike, reply: ReplyLike): void => {
    settleTo(deps.pipeline.check(withConnection(fromPluginRequest(req.body as PluginRequest), req.socket)), send, reply, failed);
  };
  void http.register(async (scope) => {
    setupScope(scope, deps, scopeOptions);

    scope.post<{ Body: PluginRequest }>('/kong/v1/authorize', { bodyLimit, schema: { body: PluginRequestSchema } }, authorize);

    scope.post<{ Body: CompletionRequest }>('/kong/v1/complete', { bodyLimit: COMPLETE_BODY_LIMIT, schema: { body: CompletionSchema } }, (req, reply) => {
      const b = req.body;
      deps.completions.record({ actionId: b.action_id, adapter: 'kong', upstreamStatus: b.upstream_status, latenciesMs: b.latencies });
      void reply.code(204).send();
    });
  });
  addFastRoute(http, deps, { ...scopeOptions, methods: ['POST'], path: '/kong/v1/authorize', bodyLimit, schema: PluginRequestSchema, handle: authorize });
}
