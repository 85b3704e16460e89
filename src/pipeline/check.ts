/**
 * The one orchestrator every entry point calls: normalize → map → (cache | evaluate) →
 * record. Synchronous end to end, so a cache hit costs no promise or event-loop hop.
 * Metrics and the decision log are recorded in exactly one place, `finish`, for every path.
 */
import { randomUUID, createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { RequestError, toError } from '../core/errors.js';
import type { Decision } from '../core/decision.js';
import type { ActionRequest } from '../core/action.js';
import { normalize } from '../gateway/normalize.js';
import type { AdapterName, GatewayRequest, RawGatewayRequest } from '../gateway/request.js';
import type { DecisionLog } from '../observability/decision-log.js';
import type { Metrics } from '../observability/metrics.js';
import { failDecision, invalidRequestDecision } from './fail-mode.js';
import type { CheckResult } from './result.js';
import type { RuntimeState } from './state.js';

export interface CheckDeps {
  readonly state: RuntimeState;
  readonly metrics: Metrics;
  readonly decisionLog: DecisionLog;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Until the approvals store exists, a pending action's id is derived from what it asks. */
function approvalIdFor(a: ActionRequest): string {
  const h = createHash('sha256').update(JSON.stringify([a.agent_id, a.action_type, a.resource, a.parameters])).digest('hex');
  return `apr_${h.slice(0, 24)}`;
}

export class CheckPipeline {
  private readonly now: () => number;

  constructor(private readonly deps: CheckDeps) {
    this.now = deps.now ?? (() => performance.now());
  }

  check(raw: RawGatewayRequest): CheckResult {
    const t0 = this.now();
    const { state } = this.deps;
    const rt = state.runtime;
    const cache = state.cache;
    let req: GatewayRequest | undefined;
    let action: ActionRequest | undefined;
    let route: string | undefined;
    let cacheHit = false;
    let decision: Decision;
    try {
      req = normalize(raw, rt.normalize);
      const mapped = rt.mapper.map(req);
      action = mapped.input.action;
      route = mapped.route;
      const key = cache.enabled ? rt.fingerprint(mapped.input) : undefined;
      const cached = key === undefined ? undefined : cache.get(key);
      if (cached !== undefined) {
        decision = cached;
        cacheHit = true;
      } else {
        decision = rt.engine.evaluate(mapped.input);
        if (key !== undefined) cache.set(key, decision);
      }
      if (key !== undefined) this.deps.metrics.cache(cacheHit);
    } catch (e) {
      decision = this.onError(raw.adapter, e, rt.config.fail_mode, rt.config.responses.denied_status);
    }
    return this.finish(raw.adapter, decision, req, action, route, cacheHit, t0, rt.config.responses.retry_after_seconds);
  }

  /** Records and answers a request an adapter could not even parse (always denied, 400). */
  reject(adapter: AdapterName, e: RequestError): CheckResult {
    const t0 = this.now();
    const rt = this.deps.state.runtime;
    const decision = this.onError(adapter, e, rt.config.fail_mode, rt.config.responses.denied_status);
    return this.finish(adapter, decision, undefined, undefined, undefined, false, t0, 0);
  }

  /** Answers per fail_mode without evaluating (e.g. the caller's deadline already passed). */
  fail(adapter: AdapterName, code: string): CheckResult {
    const t0 = this.now();
    const rt = this.deps.state.runtime;
    this.deps.metrics.error(adapter, code);
    return this.finish(adapter, failDecision(rt.config.fail_mode, rt.config.responses.denied_status, code), undefined, undefined, undefined, false, t0, 0);
  }

  private onError(adapter: AdapterName, e: unknown, failMode: 'open' | 'closed', deniedStatus: number): Decision {
    if (e instanceof RequestError) {
      this.deps.metrics.error(adapter, e.code);
      return invalidRequestDecision(e);
    }
    const err = toError(e);
    this.deps.metrics.error(adapter, 'evaluation_error');
    this.deps.logger.error({ err, adapter }, 'evaluation failed; answering per fail_mode');
    return failDecision(failMode, deniedStatus);
  }

  private finish(
    adapter: AdapterName,
    decision: Decision,
    request: GatewayRequest | undefined,
    action: ActionRequest | undefined,
    route: string | undefined,
    cacheHit: boolean,
    t0: number,
    retryAfterSeconds: number,
  ): CheckResult {
    const latencyUs = (this.now() - t0) * 1000;
    const pending = decision.decision === 'pending';
    const result: CheckResult = {
      adapter,
      decision,
      actionId: randomUUID(),
      approvalId: pending && action ? approvalIdFor(action) : undefined,
      retryAfterSeconds: pending ? retryAfterSeconds : undefined,
      action,
      request,
      route,
      cacheHit,
      latencyUs,
    };
    const m = this.deps.metrics;
    m.decision(adapter, decision.decision, latencyUs / 1e6);
    if (decision.flagged) m.flag(adapter);
    if (decision.failOpen) m.failedOpen(adapter);
    if (decision.monitor) m.monitorOverride(decision.monitor.wouldBe);
    this.deps.decisionLog.write(result);
    return result;
  }
}
