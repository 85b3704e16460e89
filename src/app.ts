/**
 * Composition root: builds every part from a runtime and injected dependencies, and never
 * touches the process (no signals, no exit) — tests build it on port 0, `server.ts` runs it.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createEnvoyServer } from './adapters/envoy/server.js';
import type { HealthService } from './grpc/health.js';
import type { GrpcTransport } from './grpc/transport.js';
import { registerApi } from './api/plugin.js';
import { ConsoleDecisions } from './console/decisions.js';
import { registerConsole } from './console/routes.js';
import type { ApprovalsLayer } from './approvals/layer.js';
import { ConfigReloader, type ReloadOutcome } from './config/reloader.js';
import type { Runtime } from './config/runtime.js';
import { buildHttpListeners } from './http/listeners.js';
import { planListeners, readOpenFileLimit } from './listeners/listener-plan.js';
import { TlsCredentials } from './listeners/tls.js';
import { AccessMetrics } from './observability/access-metrics.js';
import { Completions } from './observability/completions.js';
import { DecisionLog } from './observability/decision-log.js';
import { flushSync } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { CheckPipeline } from './pipeline/check.js';
import { RuntimeState } from './pipeline/state.js';
import { RemoteControl } from './evaluator/remote.js';
import { BundleMetrics } from './bundles/client.js';
import { BundleControl } from './bundles/control.js';
import { RemoteMetrics } from './evaluator/remote-metrics.js';
import { createAgentsLayer } from './registry/layer.js';
import { followStoredAbTests } from './pipeline/ab-sync.js';
import { buildSideEffects, completionRecorder } from './side-effects.js';
import { systemClock, systemTimers, type Clock, type Timers } from './shared/runtime.js';

export interface AppOptions {
  runtime: Runtime;
  logger: Logger;
  /** Enables reload() and file watching. */
  configPath?: string;
  registry?: Registry;
  /** Skip Node process metrics (tests that build many apps). */
  defaultMetrics?: boolean;
  /** Overrides for server.* (the CLI's --grpc-port/--http-port). */
  grpcPort?: number;
  httpPort?: number;
  host?: string;
  /** Wall clock (ms since the epoch) and timers of the approvals layer, alerts and API; tests fake them. */
  now?: Clock;
  timers?: Timers;
  /** The webhook transport (tests). */
  fetch?: typeof fetch;
  /** Batch decision/audit log lines before writing (the server; tests read them unbatched). */
  batchLogs?: boolean;
  /** Replaces the local registry's text on /metrics (cluster workers answer for all workers). */
  metricsText?: () => Promise<string>;
  /** The open-file limit the listeners' connection caps must fit (tests); read from /proc/self/limits when absent. */
  openFileLimit?: number;
}

export interface ListeningPorts {
  grpcPort: number;
  httpPort: number;
  /** Only with server.gateway_http_port. */
  gatewayHttpPort?: number;
}

export interface App {
  readonly state: RuntimeState;
  readonly pipeline: CheckPipeline;
  readonly metrics: Metrics;
  readonly registry: Registry;
  readonly grpcServer: GrpcTransport;
  readonly health: HealthService;
  /** The main HTTP listener. */
  readonly http: FastifyInstance;
  /** The gateway endpoints' own listener (server.gateway_http_port); undefined when they are on `http`. */
  readonly gatewayHttp: FastifyInstance | undefined;
  /** Gateway-reported outcomes of allowed actions; `onCompletion` to persist them. */
  readonly completions: Completions;
  readonly reloader: ConfigReloader | undefined;
  /** The durable-state layer; undefined without `store:` in the config. */
  readonly approvals: ApprovalsLayer | undefined;
  /** Binds the listeners; resolves to the ports actually bound (0 → a free port). */
  listen(): Promise<ListeningPorts>;
  reload(trigger?: string, force?: boolean): Promise<ReloadOutcome>;
  /** Readiness off, drain in-flight work within `graceMs`, close listeners, stop the approvals layer, flush logs. */
  shutdown(graceMs?: number): Promise<void>;
}

export async function buildApp(opts: AppOptions): Promise<App> {
  const { runtime, logger } = opts;
  const registry = opts.registry ?? new Registry();
  const state = new RuntimeState(runtime);
  // evaluator.bundle: the kept bundle runs before the first request; polling starts with listen(); a reload turns it on or off.
  const bundleMetrics = new BundleMetrics(registry);
  let healthRef: HealthService | undefined;
  const bundle = new BundleControl(opts.configPath ?? runtime.source, state, bundleMetrics, logger.child({ component: 'bundle' }), () => healthRef?.update());
  bundle.apply(runtime);
  state.onSwap((rt) => bundle.apply(rt));
  // Declared before use below: the gauge reads the remote evaluator's cache in remote mode.
  let remoteRef: RemoteControl | undefined;
  const metrics = new Metrics(registry, () => remoteRef?.current?.cacheSize ?? state.cache.size, { defaultMetrics: opts.defaultMetrics });
  const recordConfig = (rt: Runtime): void => {
    metrics.configInfo.reset();
    metrics.configInfo.labels(rt.hash).set(rt.version);
    metrics.configTimestamp.set(Date.now() / 1000);
    metrics.policies.set(rt.engine.policies.length);
    metrics.routes.set(rt.routeCount);
  };
  recordConfig(state.runtime); // a kept bundle may already run
  metrics.reload('success');
  state.onSwap(recordConfig);
  const dl = runtime.config.decision_log;
  const decisionLog = DecisionLog.create(logger, {
    enabled: dl.enabled, includeHeaders: dl.include_headers, path: dl.path, batch: opts.batchLogs, redaction: () => state.runtime.redaction,
    body: () => {
      const c = state.runtime.config;
      return c.decision_log.include_body ? { maxBytes: c.limits.max_body_bytes, maxDepth: c.limits.max_json_depth } : undefined;
    },
  });
  const now = opts.now ?? systemClock;
  const fx = await buildSideEffects({
    state, registry, logger, now, timers: opts.timers, fetch: opts.fetch, batchLogs: opts.batchLogs,
    onAuditDrop: (sink, reason, rows) => metrics.auditDropped(sink, reason, rows),
  });
  const remote = new RemoteControl(new RemoteMetrics(registry), logger.child({ component: 'remote' }));
  remote.apply(runtime);
  remoteRef = remote;
  state.onSwap((rt) => remote.apply(rt));
  // The console's live decisions feed and per-policy counts (a synchronous, bounded sink).
  const consoleDecisions = new ConsoleDecisions(now);
  // Read at start. Off: the OpenTelemetry SDK is not even loaded.
  const tracing = runtime.config.tracing.enabled ? (await import('./observability/tracing.js')).createTracing(runtime.config.tracing, runtime.tracingHeaders, logger.child({ component: 'tracing' })) : undefined;
  const pipeline = new CheckPipeline({ state, metrics, sinks: [decisionLog, ...fx.sinks, consoleDecisions], logger, approvals: fx.gate, remote, ...(tracing === undefined ? {} : { tracing }) });
  const agents = createAgentsLayer({
    directory: state.agents, declaredByConfig: (id) => state.runtime.mapper.agents.declares(id),
    store: fx.layer?.store, events: fx.layer?.events, registry, now, timers: opts.timers ?? systemTimers,
    log: logger.child({ component: 'agents' }), fleet: fx.layer?.fleet,
  });
  // A/B tests made through the API, followed in the store (none without `store:`).
  const abSync = fx.layer === undefined ? undefined : followStoredAbTests({
    store: fx.layer.store, registry: state.ab, changed: () => state.cache.clear(), timers: opts.timers ?? systemTimers,
    log: logger.child({ component: 'ab-tests' }), fleet: fx.layer.fleet,
  });
  const cfg = runtime.config.server;
  const accessMetrics = new AccessMetrics(registry);
  const limits = planListeners(cfg, { openFileLimit: opts.openFileLimit ?? readOpenFileLimit(), logger, metrics: accessMetrics });
  // Read at start, like the ports; the files themselves are watched (listeners/tls.ts).
  const tlsOf = (listener: 'grpc' | 'http' | 'gateway_http') => TlsCredentials.forListener(cfg, listener, { configPath: runtime.source, logger });
  const tls = { grpc: tlsOf('grpc'), http: tlsOf('http'), gatewayHttp: cfg.gateway_http_port === undefined ? undefined : tlsOf('gateway_http') };
  const { server: grpcServer, health } = await createEnvoyServer(pipeline, state, {
    maxReceiveBytes: cfg.grpc_max_receive_bytes, transport: cfg.grpc_transport, requestTimeoutMs: cfg.http_request_timeout_ms, logger, connections: limits.grpc, tls: tls.grpc,
    limits: {
      maxConcurrentStreams: cfg.grpc_max_concurrent_streams,
      connectionOutputBytes: cfg.grpc_connection_output_bytes,
      outputBudgetBytes: cfg.grpc_output_budget_bytes,
      maxControlFramesPerSecond: cfg.grpc_max_control_frames_per_second,
      outputStallMs: cfg.grpc_output_stall_timeout_ms,
    },
  });
  healthRef = health;
  accessMetrics.grpcEvents(() => grpcServer.stats?.());
  accessMetrics.grpcOutput(() => grpcServer.stats?.());
  const completions = new Completions(registry, logger);
  if (fx.layer || fx.auditStream) completions.onCompletion(completionRecorder({ layer: fx.layer, auditStream: fx.auditStream, logger }));
  const listeners = buildHttpListeners(cfg, limits, tls, {
    state, registry, metricsText: opts.metricsText, remote, bundle, storeHealth: fx.storeHealth,
    exemplars: tracing === undefined || opts.metricsText !== undefined ? undefined : () => metrics.durationExemplars(),
  }, { pipeline, state, metrics, logger, completions, accessMetrics });
  const http = listeners.main;
  const apiDeps = { state, pipeline, layer: fx.layer, logger, auditStream: fx.auditStream, now, registry, agents };
  await registerApi(http, apiDeps, fx.version);
  const closeConsole = await registerConsole(http, apiDeps, { timers: opts.timers ?? systemTimers, decisions: consoleDecisions });
  const reloader = opts.configPath ? new ConfigReloader(opts.configPath, state, metrics, logger, undefined, bundle.load) : undefined;
  const host = opts.host ?? cfg.host;

  return {
    state, pipeline, metrics, registry, grpcServer, health, http, gatewayHttp: listeners.gateway, completions, reloader, approvals: fx.layer,
    async listen() {
      // Registered and blocked agents are known before the first request is accepted.
      await agents.start();
      await abSync?.start();
      const grpcPort = await grpcServer.listen(host, opts.grpcPort ?? cfg.grpc_port);
      const httpPorts = await listeners.listen(host, opts.httpPort ?? cfg.http_port);
      await fx.layer?.start();
      bundle.start();
      for (const t of Object.values(tls)) t?.watch();
      return { grpcPort, ...httpPorts };
    },
    reload(trigger = 'api', force = false) {
      if (!reloader) return Promise.resolve({ result: 'failure', error: 'no config file to reload' } as const);
      return reloader.reload(trigger, force);
    },
    async shutdown(graceMs = cfg.drain_timeout_ms) {
      state.serving = false;
      health.update();
      reloader?.close();
      bundle.stop();
      for (const t of Object.values(tls)) t?.close();
      // Watch streams (and the console's event streams) would hold a draining connection open.
      health.endWatches();
      closeConsole();
      await Promise.all([grpcServer.shutdown(graceMs), listeners.close()]);
      // After the drain: every accepted check has committed its approval and pushed its audit row.
      await agents.stop();
      await abSync?.stop();
      await fx.stop();
      await remote.close();
      // The spans of the drained checks are exported before the process exits.
      await tracing?.shutdown();
      decisionLog.flush();
      flushSync(logger);
    },
  };
}
