/**
 * The process around the app: load the config, listen, reload on SIGHUP and file changes,
 * drain and exit 0 on SIGTERM/SIGINT. Everything else lives in app.ts.
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { clusterMetricsText, joinClusterMetrics, reportFatal, reportListening } from './cluster.js';
import { ConfigError, formatIssue } from './config/errors.js';
import { loadRuntime } from './config/load.js';
import type { Config } from './config/schema.js';
import { applyHeapGrowth } from './observability/heap.js';
import { createLogger, flushSync } from './observability/logger.js';

export interface ServeOptions {
  configPath: string;
  grpcPort?: number;
  httpPort?: number;
  host?: string;
  watch?: boolean;
}

/** The listener a port belongs to, and how a user changes it. */
function portSetting(port: number, server: Config['server'], opts: ServeOptions): string {
  if (port === (opts.grpcPort ?? server.grpc_port)) return 'the gRPC (ext_authz) port; change it with --grpc-port, ASCEND_GRPC_PORT or server.grpc_port';
  if (port === (opts.httpPort ?? server.http_port)) return 'the HTTP port; change it with --http-port, ASCEND_HTTP_PORT or server.http_port';
  return 'the gateway HTTP port; change it with server.gateway_http_port';
}

/**
 * A listener that cannot bind, in at most three lines and no stack trace: which port, which
 * listener, and how to change it. Undefined for other errors.
 */
export function listenFailure(e: unknown, server: Config['server'], opts: ServeOptions): string | undefined {
  const err = e as NodeJS.ErrnoException & { port?: number; address?: string };
  if ((err.code !== 'EADDRINUSE' && err.code !== 'EACCES') || typeof err.port !== 'number') return undefined;
  const why = err.code === 'EADDRINUSE' ? 'is already in use' : 'needs privileges this process does not have';
  return `ascend-sidecar: cannot listen on ${err.address ?? opts.host ?? server.host}:${err.port}: the port ${why}.\n`
    + `It is ${portSetting(err.port, server, opts)} (0 picks a free port).`;
}

export async function serve(opts: ServeOptions): Promise<void> {
  let loaded;
  try {
    loaded = await loadRuntime(opts.configPath, 1);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const { runtime } = loaded;
  const heapGrowth = applyHeapGrowth(runtime.config.server.heap_growth_percent);
  const logger: Logger = createLogger({ level: runtime.config.log.level, redaction: runtime.redaction });
  const worker = cluster.isWorker;
  const app = await buildApp({
    runtime, logger, configPath: opts.configPath, batchLogs: true, grpcPort: opts.grpcPort, httpPort: opts.httpPort, host: opts.host,
    // Under --workers, /metrics on any worker answers for the whole cluster.
    metricsText: worker ? clusterMetricsText : undefined,
  });
  if (worker) joinClusterMetrics(app.registry);
  let ports;
  try {
    ports = await app.listen();
  } catch (e) {
    const message = listenFailure(e, runtime.config.server, opts);
    if (message === undefined) throw e;
    // Nothing was accepted yet, so there is nothing to drain.
    if (worker) {
      reportFatal(message, () => process.exit(1)); // the primary says it once, for every worker
      return;
    }
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
  logger.info(
    { grpc_port: ports.grpcPort, http_port: ports.httpPort, ...(ports.gatewayHttpPort === undefined ? {} : { gateway_http_port: ports.gatewayHttpPort }), config: opts.configPath, config_version: runtime.version, config_hash: runtime.hash, heap_growth_percent: heapGrowth ?? 'set by node flags', ...(worker ? { worker: cluster.worker?.id } : {}) },
    worker ? 'worker listening' : 'ascend-sidecar listening',
  );
  if (worker) reportListening(ports);
  if (opts.watch !== false) app.reloader?.watch();

  process.on('SIGHUP', () => void app.reload('SIGHUP', true));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    app.shutdown().then(
      () => {
        logger.info('stopped');
        flushSync(logger);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export { ConfigError, formatIssue };
