/**
 * `ascend-sidecar/lambda`: an AWS API Gateway Lambda authorizer that runs the sidecar's own
 * pipeline in process (normalize → map → cache → evaluate, decision log to stdout, which is
 * CloudWatch). One container keeps its runtime, cache and agents between invocations.
 *
 * Configuration, read once per container:
 * - `ASCEND_CONFIG`: the config file (default `ascend.yaml` in the task root). Its
 *   `evaluator.bundle` (a control plane's signed bundle URL, cache_file under /tmp) is honoured:
 *   the bundle is fetched and verified on cold start and again every poll_interval_s, between
 *   invocations; `evaluator.mode: remote` asks the control plane as `serve` does.
 * - `ASCEND_LAMBDA_RESPONSE`: `simple` (default for HTTP APIs) or `iam` (always for REST APIs).
 *
 * No approvals store runs in a function: a pending decision is a Deny carrying its approval id
 * (the id derived from the action, as without `store:`), to be approved on the control plane.
 */
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { BundleClient, BundleMetrics } from '../bundles/client.js';
import { loadRuntimeSync } from '../config/load.js';
import { RemoteControl } from '../evaluator/remote.js';
import { RemoteMetrics } from '../evaluator/remote-metrics.js';
import { DecisionLog } from '../observability/decision-log.js';
import { Metrics } from '../observability/metrics.js';
import { CheckPipeline } from '../pipeline/check.js';
import type { CheckResult } from '../pipeline/result.js';
import { RuntimeState } from '../pipeline/state.js';
import { eventKind, fromAuthorizerEvent, iamAnswer, LambdaEventError, simpleAnswer, type IamAnswer, type SimpleAnswer } from './events.js';

export interface LambdaOptions {
  readonly configPath: string;
  readonly logger?: Logger;
  /** `simple` or `iam` for HTTP API events (REST API events always get an IAM policy). */
  readonly httpApiResponse?: 'simple' | 'iam';
}

export type AuthorizerHandler = (event: unknown) => Promise<IamAnswer | SimpleAnswer>;

/** Builds the pipeline once and returns the handler (tests call this; `handler` below reads the environment). */
export async function createHandler(opts: LambdaOptions): Promise<AuthorizerHandler> {
  const logger = opts.logger ?? pino({ base: { service: 'ascend-sidecar' } });
  const runtime = loadRuntimeSync(opts.configPath, 1);
  const state = new RuntimeState(runtime);
  const registry = new Registry();
  const bundle = runtime.config.evaluator.bundle === undefined
    ? undefined : new BundleClient(opts.configPath, state, new BundleMetrics(registry), logger.child({ component: 'bundle' }));
  let lastPoll = 0;
  const refreshBundle = async (): Promise<void> => {
    if (bundle === undefined) return;
    const every = (state.runtime.config.evaluator.bundle?.poll_interval_s ?? 30) * 1000;
    if (bundle.ready && Date.now() - lastPoll < every) return;
    lastPoll = Date.now();
    await bundle.poll();
  };
  if (bundle !== undefined) {
    bundle.coldStart();
    await refreshBundle();
  }
  const metrics = new Metrics(registry, () => state.cache.size, { defaultMetrics: false });
  const remote = new RemoteControl(new RemoteMetrics(registry), logger.child({ component: 'remote' }));
  remote.apply(runtime);
  state.onSwap((rt) => remote.apply(rt));
  const dl = runtime.config.decision_log;
  const decisionLog = DecisionLog.create(logger, { enabled: dl.enabled, includeHeaders: dl.include_headers, path: dl.path, redaction: () => state.runtime.redaction });
  const pipeline = new CheckPipeline({ state, metrics, sinks: [decisionLog], logger, remote });

  return async (event) => {
    await refreshBundle();
    let kind;
    try {
      kind = eventKind(event);
    } catch (e) {
      if (!(e instanceof LambdaEventError)) throw e;
      // API Gateway answers an authorizer error with 500; refuse in the authorizer's own terms.
      logger.warn({ err: e.message }, 'not an API Gateway authorizer event; denied');
      return { isAuthorized: false, context: { decision: 'denied', code: 'invalid_request', reason: e.message } };
    }
    const e = event as Record<string, unknown>;
    let result: CheckResult;
    try {
      result = await pipeline.check(fromAuthorizerEvent(e, kind));
    } catch (err) {
      if (!(err instanceof LambdaEventError)) throw err;
      result = pipeline.fail('lambda', 'evaluation_error');
    }
    decisionLog.flush();
    if (kind === 'http_v2' && opts.httpApiResponse !== 'iam') return simpleAnswer(result);
    const resource = String(kind === 'http_v2' ? e.routeArn ?? '' : e.methodArn ?? '');
    return iamAnswer(result, resource);
  };
}

let built: Promise<AuthorizerHandler> | undefined;

/** The Lambda entry point (`handler` in the function's configuration). */
export async function handler(event: unknown): Promise<IamAnswer | SimpleAnswer> {
  built ??= createHandler({
    configPath: process.env.ASCEND_CONFIG ?? join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'ascend.yaml'),
    httpApiResponse: process.env.ASCEND_LAMBDA_RESPONSE === 'iam' ? 'iam' : 'simple',
  });
  return (await built)(event);
}
