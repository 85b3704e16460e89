/**
 * The HTTP listener (default :8181): health, readiness and Prometheus metrics here; the
 * Kong, forward-auth and REST adapters register their routes on the same instance.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RuntimeState } from '../pipeline/state.js';

export interface HttpDeps {
  state: RuntimeState;
  registry: Registry;
}

export function createHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    logger: false, // the sidecar logs decisions itself; per-request access logs would double them
    bodyLimit: 1024 * 1024,
    // Slow clients must not hold sockets (slowloris): bound the whole request.
    requestTimeout: 10_000,
    connectionTimeout: 15_000,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const rt = deps.state.runtime;
    const body = { status: deps.state.serving ? 'ready' : 'draining', config_version: rt.version, config_hash: rt.hash };
    return reply.code(deps.state.serving ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await deps.registry.metrics();
    return reply.header('content-type', deps.registry.contentType).send(text);
  });

  return app;
}
