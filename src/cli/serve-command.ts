/**
 * `serve`: run the sidecar. Ports come from the flag, else ASCEND_GRPC_PORT / ASCEND_HTTP_PORT,
 * else the config file (server.grpc_port / server.http_port); 0 picks a free port.
 */
import { availableParallelism } from 'node:os';
import { parsePort, required, UsageError, type Command } from './command.js';

/** `--workers N` or `auto` (one per core); 1 when absent. */
function workerCount(v: string | undefined): number {
  if (v === undefined) return 1;
  if (v === 'auto') return availableParallelism();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--workers must be an integer from 1 to 256 or "auto", got "${v}"`, serveCommand);
  return n;
}

/** Flag, then environment, then (undefined) the config file. */
function portFrom(flag: string | undefined, flagName: string, env: string): number | undefined {
  return parsePort(flag, flagName, serveCommand) ?? parsePort(process.env[env], env, serveCommand);
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the sidecar (Envoy ext_authz gRPC, Kong, forward-auth, REST API)',
  usage: '--config FILE [--grpc-port N] [--http-port N] [--host ADDR] [--no-watch] [--workers N|auto]',
  help: `Ports: the flag, else ASCEND_GRPC_PORT / ASCEND_HTTP_PORT, else server.grpc_port (9191) and
server.http_port (8181) from the config; 0 picks a free port (the "listening" log line says which).
--no-watch: reload only on SIGHUP, not when the file changes. --workers: one process per core
(node:cluster), metrics summed over them.`,
  options: {
    config: { type: 'string', short: 'c' },
    'grpc-port': { type: 'string' },
    'http-port': { type: 'string' },
    host: { type: 'string' },
    'no-watch': { type: 'boolean' },
    workers: { type: 'string' },
  },
  async run(v) {
    const config = required(v, 'config', serveCommand);
    const grpcPort = portFrom(v['grpc-port'] as string | undefined, '--grpc-port', 'ASCEND_GRPC_PORT');
    const httpPort = portFrom(v['http-port'] as string | undefined, '--http-port', 'ASCEND_HTTP_PORT');
    const workers = workerCount(v.workers as string | undefined);
    if (workers > 1 && (await import('node:cluster')).default.isPrimary) {
      const { runPrimary } = await import('../cluster.js');
      await runPrimary(config, workers);
      return;
    }
    // Loaded on demand: validate/check should not pay for gRPC and HTTP server start-up.
    const { serve } = await import('../server.js');
    await serve({ configPath: config, grpcPort, httpPort, host: v.host as string | undefined, watch: v['no-watch'] !== true });
  },
};
