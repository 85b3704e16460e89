/**
 * Kong Enterprise `opa` plugin compatibility (adapter label `kong_opa`): `POST /v1/data/*`,
 * any policy path, so a Kong Enterprise user switches by pointing `opa_host`/`opa_port` at
 * the sidecar (e.g. `opa_path: /v1/data/ascend/allow`).
 */
import type { FastifyInstance } from 'fastify';
import type { ReplyLike, RequestLike } from '../../http/fast-routes.js';
import type { CheckResult } from '../../pipeline/result.js';
import { settleTo } from '../../pipeline/settle.js';
import { AnswerJson } from '../answer-json.js';
import { addFastRoute, setupScope, withConnection, type HttpAdapterDeps, type Problem, type ScopeOptions } from '../http-adapter.js';
import { fromOpaInput } from './from-opa-input.js';
import { OpaRequestSchema, type OpaRequest } from './schema.js';
import { problemResult, toOpaResult } from './to-opa-result.js';

export function registerKongOpa(http: FastifyInstance, deps: HttpAdapterDeps): void {
  const bodyLimit = deps.state.runtime.config.kong.body_limit_bytes;
  const scopeOptions: ScopeOptions = {
    adapter: 'kong_opa',
    jsonOnly: true,
    // Kong answers 500 to anything but HTTP 200: a refusal is a deny result it can apply.
    render: (reply: ReplyLike, p: Problem) => void reply.code(p.status >= 500 ? 500 : 200).send(problemResult(p)),
  };
  const answers = new AnswerJson(toOpaResult);
  const send = (reply: ReplyLike, r: CheckResult): void => answers.send(reply, r);
  const failed = (): CheckResult => deps.pipeline.fail('kong_opa', 'evaluation_error');
  const handler = (req: RequestLike, reply: ReplyLike): void => {
    settleTo(deps.pipeline.check(withConnection(fromOpaInput(req.body as OpaRequest), req.socket)), send, reply, failed);
  };
  void http.register(async (scope) => {
    setupScope(scope, deps, scopeOptions);
    const opts = { bodyLimit, schema: { body: OpaRequestSchema } };
    scope.post<{ Body: OpaRequest }>('/v1/data', opts, handler);
    scope.post<{ Body: OpaRequest }>('/v1/data/*', opts, handler);
  });
  addFastRoute(http, deps, { ...scopeOptions, methods: ['POST'], path: '/v1/data', prefix: true, bodyLimit, schema: OpaRequestSchema, handle: handler });
}
