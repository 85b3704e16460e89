/**
 * `serve --workers N`: one sidecar on every core. The primary validates the config, forks N
 * workers that each run the whole sidecar on the same ports (node:cluster shares the
 * listening sockets), forwards SIGHUP/SIGTERM/SIGINT to them, replaces a worker that dies,
 * and answers the workers' requests for the cluster-wide metrics (prom-client's
 * AggregatorRegistry sums counters and histograms over the workers), so /metrics on any
 * worker shows the whole sidecar.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { ConfigError } from './config/errors.js';
import { loadRuntime } from './config/load.js';
import { createLogger, flushSync } from './observability/logger.js';

const METRICS_REQUEST = 'ascend:metrics-request';
const METRICS_RESPONSE = 'ascend:metrics-response';
const LISTENING = 'ascend:listening';

interface Ports {
  grpcPort: number;
  httpPort: number;
  gatewayHttpPort?: number;
}

/** Worker side: lets the primary collect this worker's registry. */
export function joinClusterMetrics(registry: Registry): void {
  // prom-client installs the worker's IPC listener in the AggregatorRegistry constructor.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

let nextId = 0;
const waiting = new Map<number, (text: string) => void>();

/** Worker side: the metrics of every worker, asked of the primary over IPC. */
export function clusterMetricsText(): Promise<string> {
  if (waiting.size === 0) {
    process.on('message', (m: { type?: string; id?: number; text?: string }) => {
      if (m?.type !== METRICS_RESPONSE || m.id === undefined) return;
      waiting.get(m.id)?.(m.text ?? '');
      waiting.delete(m.id);
    });
  }
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('the cluster primary did not answer the metrics request'));
    }, 5000);
    waiting.set(id, (text) => {
      clearTimeout(timer);
      resolve(text);
    });
    process.send?.({ type: METRICS_REQUEST, id });
  });
}

/** Worker side: tells the primary which ports it bound. */
export function reportListening(ports: Ports): void {
  process.send?.({ type: LISTENING, ...ports });
}

const FATAL = 'ascend:fatal';

/** Worker side: a start-up failure no restart can mend (a port in use); the primary says it and stops. */
export function reportFatal(message: string, then: () => void): void {
  if (process.send) process.send({ type: FATAL, message }, () => then());
  else then();
}

/** Primary side. Resolves never; exits the process when the workers are gone. */
export async function runPrimary(configPath: string, workers: number): Promise<void> {
  try {
    await loadRuntime(configPath, 1);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger({ level: 'info' }).child({ role: 'primary' });
  const aggregator = new AggregatorRegistry();
  const restarts: number[] = [];
  let stopping = false;
  let announced = false;
  const listening = new Map<number, Ports>();

  const onMessage = (w: Worker, m: { type?: string; id?: number } & Partial<Ports>): void => {
    if (m?.type === METRICS_REQUEST) {
      aggregator.clusterMetrics().then(
        (text) => w.send({ type: METRICS_RESPONSE, id: m.id, text }),
        (err: Error) => w.send({ type: METRICS_RESPONSE, id: m.id, text: `# cluster metrics failed: ${err.message}\n` }),
      );
    } else if (m?.type === FATAL) {
      stopping = true;
      process.stderr.write(`${(m as { message?: string }).message}\n`);
      for (const x of Object.values(cluster.workers ?? {})) x?.process.kill('SIGTERM');
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 2000).unref();
    } else if (m?.type === LISTENING && m.grpcPort !== undefined && m.httpPort !== undefined) {
      listening.set(w.id, { grpcPort: m.grpcPort, httpPort: m.httpPort });
      if (!announced && listening.size === workers) {
        announced = true;
        const gateway = m.gatewayHttpPort === undefined ? {} : { gateway_http_port: m.gatewayHttpPort };
        logger.info({ grpc_port: m.grpcPort, http_port: m.httpPort, ...gateway, workers, config: configPath }, 'ascend-sidecar listening');
      }
    }
  };
  const fork = (): void => {
    cluster.fork().on('message', function (this: Worker, m) {
      onMessage(this, m as never);
    });
  };

  cluster.on('exit', (w, code, signal) => {
    listening.delete(w.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('stopped');
        flushSync(logger);
        process.exit(); // 0, or the 1 a fatal start-up failure set
      }
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && (restarts[0] as number) < now - 60_000) restarts.shift();
    if (restarts.length > 5) {
      logger.fatal({ code, signal }, 'workers keep dying (more than 5 restarts in a minute); giving up');
      flushSync(logger);
      process.exit(1);
    }
    logger.error({ worker: w.id, code, signal }, 'worker exited unexpectedly; starting a new one');
    fork();
  });

  const forward = (signal: NodeJS.Signals): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
  };
  process.on('SIGHUP', () => forward('SIGHUP'));
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    forward('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < workers; i++) fork();
}
