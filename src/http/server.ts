/**
 * An HTTP listener: fastify over a node:http server whose timeouts and connection caps keep
 * any one client from holding sockets. The main listener (default :8181) also answers health,
 * readiness and Prometheus metrics ({@link addOpsRoutes}); the gateway listener
 * (`server.gateway_http_port`) only carries the gateway endpoints. The Kong, forward-auth and
 * REST adapters register their routes on the instance they belong to.
 */
import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { attachFastRoutes, type FastRoutes } from './fast-routes.js';
import { parseJsonBody } from './json-body.js';
import { serveHttp1 } from './h1-server.js';
import { limitConnections, type ConnectionLimits } from '../listeners/connection-gate.js';
import type { TlsCredentials } from '../listeners/tls.js';
import { OPENMETRICS_CONTENT_TYPE, toOpenMetrics, wantsOpenMetrics } from '../observability/openmetrics.js';
import type { RuntimeState } from '../pipeline/state.js';

export interface HttpDeps {
  state: RuntimeState;
  registry: Registry;
  metricsText?: (() => Promise<string>) | undefined;
  /** evaluator.mode remote: /readyz shows whether the control plane answers. */
  remote?: { readonly current: { readonly availability: string } | undefined } | undefined;
  /** With `store:`: /readyz shows `store: ok | degraded` (degraded: unreachable, answering per fail_mode). */
  storeHealth?: { readonly state: string } | undefined;
  /** evaluator.bundle: not ready until a verified bundle is active. */
  bundle?: { readonly current: { readonly ready: boolean; readonly activeRevision: string | undefined } | undefined } | undefined;
  /** Set while tracing is on: /metrics answers OpenMetrics, with these exemplars, to a scraper that asks for it. */
  exemplars?: (() => ReadonlyMap<string, string>) | undefined;
}

export interface HttpLimits {
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
  maxHeaders: number;
  connections: ConnectionLimits;
  /** HTTPS with these credentials (listeners/tls.ts); plain HTTP without. */
  tls?: TlsCredentials;
  /** 'h1': the fast routes on our own HTTP/1.1 server (h1-server.ts); 'node': on node:http's. */
  transport?: 'h1' | 'node';
}

/**
 * The JSON body parser of every scope (REST API, Kong, Kong-OPA): json-body.ts, the fast
 * path's too. `allowEmpty`: an empty body labelled JSON is "no body".
 * `keepRaw`: the text is kept as `req.rawBody` (the REST API verifies signatures over it).
 */
export function useJsonParser(scope: FastifyInstance, state: RuntimeState, opts: { allowEmpty: boolean; keepRaw?: boolean }): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (opts.keepRaw && text.trim() !== '') (req as { rawBody?: string }).rawBody = text;
    let value: unknown;
    try {
      value = parseJsonBody(text, opts.allowEmpty, state.runtime.config.limits.max_json_depth);
    } catch (e) {
      done(e as Error, undefined);
      return;
    }
    done(null, value);
  });
}

/**
 * HTTPS on the same options; its certificate follows the files (listeners/tls.ts). Typed as the
 * node:http server fastify expects: https.Server has the same request API.
 */
function httpsServer(options: ServerOptions, tls: TlsCredentials, requestTimeoutMs: number, handler: RequestListener): Server {
  // The TLS handshake gets no more time than a request: a client that trickles it must not hold a connection.
  const server = createHttpsServer({ ...options, ...tls.serverOptions(), handshakeTimeout: requestTimeoutMs }, handler);
  tls.attach(server);
  return server as unknown as Server;
}

/**
 * A fastify listener. With `fast`, the gateway endpoints' common request shapes are answered
 * by the fast path (fast-routes.ts) before fastify sees them; everything else is fastify's.
 */
export function createHttpServer(limits: HttpLimits, fast?: FastRoutes): FastifyInstance {
  const app = Fastify({
    logger: false, // the sidecar logs decisions itself; per-request access logs would double them
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    serverFactory: (handler) => {
      const options: ServerOptions = {
        // Slow clients must not hold sockets (slowloris): the whole request, headers
        // included, must arrive in time, checked every second rather than Node's 30 s.
        requestTimeout: limits.requestTimeoutMs,
        headersTimeout: limits.requestTimeoutMs,
        connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs),
        // Oversized headers are refused by Node's parser with 431.
        maxHeaderSize: limits.maxHeaderBytes,
        // Nor may idle keep-alive connections pile up (SECURITY.md: 15 s by default).
        keepAliveTimeout: limits.keepAliveTimeoutMs,
      };
      const serve: RequestListener = fast === undefined ? handler : (req, res) => {
        if (!fast.serve(req, res)) handler(req, res);
      };
      const server = limits.tls === undefined ? createServer(options, serve) : httpsServer(options, limits.tls, limits.requestTimeoutMs, serve);
      // Count headers ourselves (onRequest, below) to answer 431 with a reason; Node's own
      // count limit answers a bare 400. maxHeaderSize already bounds what a request can carry.
      server.maxHeadersCount = 0;
      if (fast !== undefined && limits.transport !== 'node') serveHttp1(server, fast, limits);
      // A connection that never sends a byte is closed by headersTimeout: Node counts it from accept.
      limitConnections(server, limits.connections);
      return server;
    },
  });


  // A request with more headers than we read could hide one from a policy: refuse it whole.
  // A callback hook, not an async one: no promise and microtask per request.
  if (fast !== undefined) attachFastRoutes(app, fast);
  app.addHook('onRequest', (req, reply, done) => {
    if (req.raw.rawHeaders.length / 2 > limits.maxHeaders) {
      void reply.code(431).send({ code: 'too_many_headers', reason: `more than ${limits.maxHeaders} request headers` });
      return;
    }
    done();
  });
  return app;
}

/** /healthz, /readyz and /metrics: on the main listener, open to every caller. */
export function addOpsRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const rt = deps.state.runtime;
    const remote = deps.remote?.current;
    const bundle = deps.bundle?.current;
    // A control plane that cannot answer leaves the edge ready: it still answers, per fail_mode.
    // An edge with a bundle is not ready before one is active: it would decide with no policy.
    const waiting = bundle !== undefined && !bundle.ready;
    const ready = deps.state.serving && !waiting;
    const body = {
      status: !deps.state.serving ? 'draining' : waiting ? 'waiting_for_bundle' : 'ready', config_version: rt.version, config_hash: rt.hash,
      ...(remote !== undefined ? { control_plane: remote.availability } : {}),
      ...(bundle !== undefined ? { bundle: bundle.activeRevision ?? null } : {}),
      // A store that cannot answer leaves the sidecar ready too: checks that need no store flow.
      ...(deps.storeHealth !== undefined ? { store: deps.storeHealth.state } : {}),
    };
    return reply.code(ready ? 200 : 503).send(body);
  });

  app.get('/metrics', async (req, reply) => {
    const text = await (deps.metricsText ?? (() => deps.registry.metrics()))();
    if (deps.exemplars !== undefined && wantsOpenMetrics(req.headers.accept)) {
      return reply.header('content-type', OPENMETRICS_CONTENT_TYPE).send(toOpenMetrics(text, deps.exemplars()));
    }
    return reply.header('content-type', deps.registry.contentType).send(text);
  });
}

/** The port a listening instance is bound to. */
export function boundPort(app: FastifyInstance): number {
  const addr = app.server.address();
  return typeof addr === 'object' && addr !== null ? addr.port : 0;
}
