/**
 * Kong Enterprise `opa` plugin compatibility (adapter label `kong_opa`): `POST /v1/data/*`,
 * any policy path, so a Kong Enterprise user switches by pointing `opa_host`/`opa_port` at
 * the sidecar (e.g. `opa_path: /v1/data/ascend/allow`).
 */
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { settle } from '../../pipeline/settle.js';
import { setupScope, withConnection, type HttpAdapterDeps, type Problem } from '../http-adapter.js';
import { fromOpaInput } from './from-opa-input.js';
import { OpaRequestSchema, type OpaRequest } from './schema.js';
import { problemResult, toOpaResult } from './to-opa-result.js';

export function registerKongOpa(http: FastifyInstance, deps: HttpAdapterDeps): void {
  const bodyLimit = deps.state.runtime.config.kong.body_limit_bytes;
  void http.register(async (scope) => {
    setupScope(scope, deps, {
      adapter: 'kong_opa',
      jsonOnly: true,
      // Kong answers 500 to anything but HTTP 200: a refusal is a deny result it can apply.
      render: (reply: FastifyReply, p: Problem) => void reply.code(p.status >= 500 ? 500 : 200).send(problemResult(p)),
    });
    const opts = { bodyLimit, schema: { body: OpaRequestSchema } };
    const handler = (req: { body: OpaRequest; socket: Socket }, reply: FastifyReply): void => {
      settle(deps.pipeline.check(withConnection(fromOpaInput(req.body), req.socket)), (r) => void reply.send(toOpaResult(r)), () => deps.pipeline.fail('kong_opa', 'evaluation_error'));
    };
    scope.post<{ Body: OpaRequest }>('/v1/data', opts, handler);
    scope.post<{ Body: OpaRequest }>('/v1/data/*', opts, handler);
  });
}
