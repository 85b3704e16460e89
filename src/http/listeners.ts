/**
 * The HTTP listeners and what each carries. The main listener (`server.http_port`) always has
 * /healthz, /readyz, /metrics and the REST API. The gateway endpoints (Kong, Kong opa,
 * forward-auth) are on it too — unless `server.gateway_http_port` is set: then they move to a
 * listener of their own on `server.gateway_host` (loopback by default) and are gone from the
 * main port, so a sidecar can expose its REST API while gateways reach it privately, and a
 * flood of the API port (its own connection caps) leaves the gateways' listener alone.
 */
import type { FastifyInstance } from 'fastify';
import { registerForwardAuth } from '../adapters/forward-auth/routes.js';
import type { HttpAdapterDeps } from '../adapters/http-adapter.js';
import { registerKongOpa } from '../adapters/kong-opa/routes.js';
import { registerKong } from '../adapters/kong/routes.js';
import type { Config } from '../config/schema.js';
import type { ListenerLimits } from '../listeners/listener-plan.js';
import { FastRoutes } from './fast-routes.js';
import type { TlsCredentials } from '../listeners/tls.js';

/** Each HTTP listener's TLS credentials; undefined: plain text. */
export interface ListenerTls {
  http: TlsCredentials | undefined;
  gatewayHttp: TlsCredentials | undefined;
}
import { addOpsRoutes, boundPort, createHttpServer, useJsonParser, type HttpDeps, type HttpLimits } from './server.js';

export interface HttpListeners {
  readonly main: FastifyInstance;
  /** The gateway endpoints' own listener; undefined when they share the main one. */
  readonly gateway: FastifyInstance | undefined;
  /** Binds the listeners; `host`/`port` are the main listener's (CLI overrides included). */
  listen(host: string, port: number): Promise<{ httpPort: number; gatewayHttpPort?: number }>;
  close(): Promise<void>;
}

export function buildHttpListeners(server: Config['server'], limits: ListenerLimits, tls: ListenerTls, ops: HttpDeps, adapters: HttpAdapterDeps): HttpListeners {
  const base = {
    requestTimeoutMs: server.http_request_timeout_ms, keepAliveTimeoutMs: server.http_keep_alive_timeout_ms, maxHeaderBytes: server.http_max_header_bytes,
    maxHeaders: server.http_max_headers, transport: server.http_transport,
  };
  const listener = (connections: HttpLimits['connections'], credentials: TlsCredentials | undefined) => {
    const fast = server.http_fast_path ? new FastRoutes(ops.state, server.http_max_headers) : undefined;
    const app = createHttpServer({ ...base, connections, ...(credentials === undefined ? {} : { tls: credentials }) }, fast);
    useJsonParser(app, ops.state, { allowEmpty: false });
    return app;
  };
  const main = listener(limits.http, tls.http);
  addOpsRoutes(main, ops);
  const gateway = limits.gatewayHttp === undefined ? undefined : listener(limits.gatewayHttp, tls.gatewayHttp);
  const gateways = gateway ?? main;
  registerKong(gateways, adapters);
  registerKongOpa(gateways, adapters);
  registerForwardAuth(gateways, adapters);

  return {
    main,
    gateway,
    async listen(host, port) {
      await main.listen({ host, port });
      if (gateway === undefined) return { httpPort: boundPort(main) };
      await gateway.listen({ host: server.gateway_host, port: server.gateway_http_port });
      return { httpPort: boundPort(main), gatewayHttpPort: boundPort(gateway) };
    },
    async close() {
      await Promise.all([main.close(), gateway?.close()]);
    },
  };
}
