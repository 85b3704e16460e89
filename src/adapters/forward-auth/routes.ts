/**
 * The forward-auth endpoint (adapter label `forward_auth`): any method on `forward_auth.path`
 * (nginx auth_request, Traefik ForwardAuth) and everything under it (Envoy http_service's
 * `path_prefix` + original path). Any content type is read as the original request's body.
 */
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../../core/errors.js';
import type { CheckResult } from '../../pipeline/result.js';
import { settleTo } from '../../pipeline/settle.js';
import type { ReplyLike, RequestLike } from '../../http/fast-routes.js';
import { addFastRoute, renderProblem, setupScope, withConnection, type HttpAdapterDeps } from '../http-adapter.js';
import { originalRequest } from './original-request.js';
import { toForwardAuthResponse } from './to-forward-auth-response.js';

function send(reply: ReplyLike, r: CheckResult): void {
  const a = toForwardAuthResponse(r);
  void reply.code(a.status).headers(a.headers).send(a.body);
}

export function registerForwardAuth(http: FastifyInstance, deps: HttpAdapterDeps): void {
  const { path: prefix, body_limit_bytes: bodyLimit } = deps.state.runtime.config.forward_auth;
  const scopeOptions = { adapter: 'forward_auth', jsonOnly: false, render: renderProblem } as const;
  const failed = (): CheckResult => deps.pipeline.fail('forward_auth', 'evaluation_error');
  const handler = (req: RequestLike, reply: ReplyLike): void => {
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body.toString('utf8') : undefined;
    let original;
    try {
      original = originalRequest({
        method: req.method, url: req.url, headers: req.headers, peer: req.peer ?? req.socket.remoteAddress,
        prefix, trusted: deps.state.runtime.trustedProxies, body,
      });
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      return send(reply, deps.pipeline.reject('forward_auth', e));
    }
    settleTo(deps.pipeline.check(withConnection(original.raw, req.socket)), send, reply, failed);
  };
  void http.register(async (scope) => {
    setupScope(scope, deps, scopeOptions);
    // The body is the original request's (Envoy with_request_body, Traefik forwardBody).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.all(prefix, { bodyLimit }, handler);
    scope.all(`${prefix}/*`, { bodyLimit }, handler);
  });
  // Bodiless checks (nginx auth_request, Traefik without forwardBody) take the fast path; a
  // request with a body is fastify's, read by the catch-all parser above.
  addFastRoute(http, deps, { ...scopeOptions, methods: FAST_METHODS, path: prefix, prefix: true, bodyLimit, handle: handler });
}

const FAST_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
