/**
 * The one orchestrator every entry point calls: normalize → map → [kill switch] →
 * (cache | evaluate) → [approval] → record. Synchronous end to end except for one path: a pending decision when an
 * approvals store is configured awaits the store (approvals are durable before we answer). So a
 * cache hit — never pending — costs no promise or event-loop hop. Metrics and every sink
 * (decision log, audit, alerts) are recorded in exactly one place, `finish`, for every path.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { approvalStatusUrl } from '../api/paths.js';
import type { Config } from '../config/schema.js';
import type { Runtime } from '../config/runtime.js';
import { RequestError, toError, type FaultCode } from '../core/errors.js';
import type { Decision } from '../core/decision.js';
import type { ActionRequest, AgentView, EvalInput, RequestView } from '../core/action.js';
import type { AgentBlockRecord } from '../approvals/store/agent-records.js';
import { blockedDecision } from '../registry/directory.js';
import { normalize } from '../gateway/normalize.js';
import type { AdapterName, GatewayRequest, RawGatewayRequest } from '../gateway/request.js';
import type { Mapped } from '../mapping/mapper.js';
import type { Metrics } from '../observability/metrics.js';
import { requireIdentity, TOO_MANY_PENDING, type ApprovalGate, type ResultIds } from './approval.js';
import { failDecision, invalidRequestDecision } from './fail-mode.js';
import type { CheckResult, McpAnswer } from './result.js';
import type { AbAssignment, AbMembership } from '../policy/ab.js';
import { checkMcp } from './mcp.js';
import type { DecisionSink } from './sinks.js';
import type { RuntimeState } from './state.js';
import { uuidV4 } from '../shared/uuid.js';
import type { RemoteAnswer, RemoteControl } from '../evaluator/remote.js';
import { formatFacts } from '../evaluator/request-facts.js';
import type { CheckTracing, Span } from '../observability/tracing.js';

export interface CheckDeps {
  readonly state: RuntimeState;
  readonly metrics: Metrics;
  /** Recorders of every finished check (decision log first). */
  readonly sinks: readonly DecisionSink[];
  readonly logger: Logger;
  /** Set when `store:` is configured: pending decisions are resolved against durable approvals. */
  readonly approvals?: ApprovalGate;
  /** evaluator.mode remote: the control plane's client (undefined while deciding locally). */
  readonly remote?: RemoteControl;
  /** tracing.enabled: one span per check (undefined when off: nothing is traced). */
  readonly tracing?: CheckTracing;
}

class DeadlineExceeded extends Error {}

/**
 * Bounds an asynchronous store call by the caller's deadline (epoch ms; gRPC `grpc-timeout`):
 * past it the gateway has given up, so the check is answered per fail_mode now. The store call
 * itself carries on (an approval it creates is found by the agent's retry). A synchronous store
 * (SQLite) cannot be pre-empted; its overrun shows as a late answer.
 */
function withDeadline<T>(p: Promise<T>, deadline: number | undefined): Promise<T> {
  if (deadline === undefined) return p;
  const left = deadline - Date.now();
  if (left <= 0) return Promise.reject(new DeadlineExceeded());
  // Answer at three quarters of the time left: the caller's clock started before ours (its
  // grpc-timeout was computed before connecting), so the gateway must get our answer rather
  // than its own timeout.
  const wait = left * 0.75;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded()), wait);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Without an approvals store, a pending action's id is derived from what it asks. */
function approvalIdFor(a: ActionRequest): string {
  const h = createHash('sha256').update(JSON.stringify([a.agent_id, a.action_type, a.resource, a.parameters])).digest('hex');
  return `apr_${h.slice(0, 24)}`;
}

/** One check on its way through evaluation: what evaluate() and the pending path carry. */
interface Evaluation {
  readonly adapter: AdapterName;
  /** The runtime snapshot the check read once at its start. */
  readonly rt: Runtime;
  readonly input: EvalInput;
  readonly request?: GatewayRequest;
  readonly route?: string;
  readonly t0: number;
  /** Epoch ms by which the caller needs the answer (the gateway's deadline). */
  readonly deadline?: number;
  /** The check's span (tracing on). */
  readonly span?: Span;
  /** One call of an MCP message: who the message's answer goes to. */
  readonly mcp?: McpAnswer;
}

/** What a finished check records besides its decision. */
interface Finish {
  readonly adapter: AdapterName;
  /** The check's clock (RuntimeState.now) when it began. */
  readonly t0: number;
  readonly request?: GatewayRequest;
  readonly action?: ActionRequest;
  readonly route?: string;
  readonly cacheHit?: boolean;
  /** The action and approval ids the approvals store assigned (a pending decision). */
  readonly ids?: ResultIds;
  /** The check's span (tracing on). */
  readonly span?: Span;
  /** The A/B tests the request is in, with its variant. */
  readonly ab?: readonly AbMembership[] | undefined;
  /** Set on an `mcp` route (every call of the message carries the message's answer). */
  readonly mcp?: McpAnswer | undefined;
}

/** The request facts decisions read, and their x-ascend-request-facts value. */
export interface RequestFacts {
  readonly names: readonly string[];
  readonly header: string;
}

export class CheckPipeline {
  /** The state's clock, which the decision cache reads its TTLs on too. */
  private readonly now: () => number;
  private readonly registered: ReadonlyMap<string, AgentView>;
  private readonly blocked: ReadonlyMap<string, AgentBlockRecord>;
  /** requestFacts()'s answer, and the two lists it was built from. */
  private facts: { own: readonly string[]; remote: readonly string[] | undefined; facts: RequestFacts } | undefined;

  constructor(private readonly deps: CheckDeps) {
    this.now = deps.state.now;
    this.registered = deps.state.agents.registered;
    this.blocked = deps.state.agents.blocked;
  }

  /** A gateway request. Returns a Promise only for a pending decision with an approvals store. */
  check(raw: RawGatewayRequest): CheckResult | Promise<CheckResult> {
    // The gateway has already given up on a request whose deadline passed while it queued.
    if (raw.deadline !== undefined && raw.deadline <= Date.now()) return this.fail(raw.adapter, 'deadline_exceeded');
    const t0 = this.now();
    const rt = this.deps.state.runtime;
    const span = this.deps.tracing?.startCheck(raw.adapter, raw.headers);
    let req: GatewayRequest | undefined;
    let mapped: Mapped;
    try {
      req = normalize(raw, rt.normalize);
      mapped = rt.mapper.map(req, this.registered);
    } catch (e) {
      return this.finish(this.onError(raw.adapter, e, rt.config), { adapter: raw.adapter, t0, request: req, span });
    }
    if (mapped.mcp !== undefined) {
      const { input, route, mcp } = mapped;
      const { adapter, deadline } = raw;
      const answer: McpAnswer = { ids: mcp.ids, batch: mcp.batch };
      // Literal objects, not spreads of a shared base: a spread per call was 9 % of an MCP check.
      return checkMcp(mcp, {
        evaluate: (i) => this.evaluate({ adapter, rt, input: i, request: req, route, t0: this.now(), deadline, span, mcp: answer }),
        ungoverned: (d) => this.finish(d, { adapter, t0, request: req, action: input.action, route, span, mcp: answer }),
      });
    }
    return this.evaluate({ adapter: raw.adapter, rt, input: mapped.input, request: req, route: mapped.route, t0, deadline: raw.deadline, span });
  }

  /**
   * An action submitted directly (the REST API): no HTTP request to map, so `request` is
   * undefined for conditions — unless an edge's gateway key forwarded its request facts
   * (api/routes/submit.ts); identity was established by the caller (the API key).
   */
  checkAction(action: ActionRequest, adapter: AdapterName = 'api', request?: RequestView): CheckResult | Promise<CheckResult> {
    const t0 = this.now();
    const rt = this.deps.state.runtime;
    const input: EvalInput = { action, agent: rt.mapper.agents.view(action.agent_id, this.registered), request, risk: { score: 0 } };
    return this.evaluate({ adapter, rt, input, t0, span: this.deps.tracing?.startCheck(adapter, undefined) });
  }

  /**
   * The request facts decisions read: the policies' own, and — evaluating remotely — those the
   * control plane said it reads (a sidecar that is both an edge's control plane and an edge).
   */
  requestFacts(): RequestFacts {
    const own = this.deps.state.runtime.requestFacts;
    const remote = this.deps.remote?.current?.requestFacts;
    // Both lists are replaced, never changed in place (a config swap, a control plane naming
    // new facts): built once per pair, not twice per gateway key's submit.
    const m = this.facts;
    if (m !== undefined && m.own === own && m.remote === remote) return m.facts;
    const names = remote === undefined || remote.length === 0 ? own : [...new Set([...own, ...remote])].sort();
    const facts: RequestFacts = { names, header: formatFacts(names) };
    this.facts = { own, remote, facts };
    return facts;
  }

  /** Records and answers a request an adapter could not even parse (always denied, 400). */
  reject(adapter: AdapterName, e: RequestError): CheckResult {
    const t0 = this.now();
    const decision = this.onError(adapter, e, this.deps.state.runtime.config);
    return this.finish(decision, { adapter, t0 });
  }

  /** Answers per fail_mode without evaluating (e.g. the caller's deadline already passed). */
  fail(adapter: AdapterName, code: FaultCode): CheckResult {
    const t0 = this.now();
    const c = this.deps.state.runtime.config;
    this.deps.metrics.error(adapter, code);
    return this.finish(failDecision(c.fail_mode, c.responses.denied_status, code), { adapter, t0 });
  }

  private evaluate(e: Evaluation): CheckResult | Promise<CheckResult> {
    const { adapter, rt, input, request: req, route, t0, span } = e;
    // The kill switch, before the cache: a blocked agent gets no cached allow. Free while no
    // agent is blocked; one Map lookup otherwise.
    if (this.blocked.size !== 0 && input.action.agent_id !== null) {
      const block = this.blocked.get(input.action.agent_id);
      if (block !== undefined) {
        const denied = blockedDecision(block, rt.config.responses.denied_status);
        return this.finish(denied, { adapter, t0, request: req, action: input.action, route, span, mcp: e.mcp });
      }
    }
    const remote = this.deps.remote?.current;
    if (remote !== undefined) {
      // The control plane decides: its answer (or fail_mode) is the decision; pending answers
      // carry its approval, so the local approvals gate is not asked.
      const started = span === undefined ? 0 : Date.now();
      const a = remote.decide(input, e.deadline, rt.config);
      // A span only for a real call: an answer from the remote cache comes back synchronously.
      if (a instanceof Promise) return span === undefined ? a.then((x) => this.finishRemote(e, x)) : this.traceRemote(e, span, started, a);
      return this.finishRemote(e, a);
    }
    const cache = this.deps.state.cache;
    let cacheHit = false;
    let decision: Decision;
    let ab: AbAssignment | undefined;
    try {
      // A/B tests (policy/ab.ts): nothing to do while none is defined.
      ab = this.deps.state.ab.assign(rt, input);
      // A shadow test evaluates both policies on every request: no cache for those.
      const shadow = ab !== undefined && ab.shadows.length > 0;
      const key = cache.enabled && !shadow ? (ab === undefined ? rt.fingerprint(input) : rt.fingerprint(input) + ab.keySuffix) : undefined;
      // The lookup's time is the check's start: the cache is on the state's clock too.
      const cached = key === undefined ? undefined : cache.get(key, t0);
      if (cached !== undefined) {
        decision = cached;
        cacheHit = true;
      } else {
        if (shadow) this.shadowEvaluate(rt, input, ab as AbAssignment);
        // An assignment scored the risk already (AbRegistry.assign): not again.
        decision = ab === undefined ? rt.engine.evaluate(input) : rt.engine.decideScored(input, ab.skip);
        if (key !== undefined) cache.set(key, decision);
      }
      if (key !== undefined) this.deps.metrics.cache(cacheHit);
    } catch (e) {
      decision = this.onError(adapter, e, rt.config);
    }
    const members = ab !== undefined && ab.members.length > 0 ? ab.members : undefined;
    if (decision.decision === 'pending') {
      decision = requireIdentity(decision, input.action, rt.config.responses.denied_status);
      const gate = this.deps.approvals;
      if (gate !== undefined && decision.decision === 'pending') {
        return this.resolvePending(gate, e, decision, members);
      }
    }
    return this.finish(decision, { adapter, t0, request: req, action: input.action, route, cacheHit, ab: members, span, mcp: e.mcp });
  }

  /** A control-plane call under the check's span. */
  private async traceRemote(e: Evaluation, span: Span, started: number, call: Promise<RemoteAnswer>): Promise<CheckResult> {
    const child = (this.deps.tracing as CheckTracing).child(span, 'ascend.control_plane.decide', started);
    const a = await call;
    child.setAttributes({ 'ascend.decision': a.decision.decision, 'ascend.cache_hit': a.cacheHit, ...(a.failure === undefined ? {} : { 'error.type': String(a.failure) }) });
    child.end();
    return this.finishRemote(e, a);
  }

  /** Each shadow test: would its test policy have decided otherwise than the enforced control? */
  private shadowEvaluate(rt: Runtime, input: EvalInput, ab: AbAssignment): void {
    const enforced = rt.engine.decideScored(input, ab.skip);
    for (const s of ab.shadows) {
      const skip = new Set(ab.skip);
      skip.delete(s.test.test_policy);
      skip.add(s.test.control_policy);
      if (rt.engine.decideScored(input, skip).decision !== enforced.decision) this.deps.state.ab.diverged(s.test.name);
    }
  }

  /** The one async path. Never rejects: a store failure is answered per fail_mode (`store_error`). */
  private async resolvePending(gate: ApprovalGate, e: Evaluation, pending: Decision, ab: readonly AbMembership[] | undefined): Promise<CheckResult> {
    const { adapter, rt, input, request: req, route, t0, deadline, span } = e;
    const action = input.action;
    let decision: Decision;
    let ids: ResultIds | undefined;
    const child = span === undefined ? undefined : (this.deps.tracing as CheckTracing).child(span, 'ascend.store.approval', Date.now(), { 'ascend.policy_id': pending.policyId ?? '' });
    try {
      const workflow = rt.workflows.get(pending.policyId ?? '');
      if (workflow === undefined) throw new Error(`policy ${pending.policyId} has no resolved workflow`);
      const binding = rt.bind(input, pending);
      ({ decision, ids } = await withDeadline(gate({ action, decision: pending, workflow, binding, actionId: uuidV4() }), deadline));
    } catch (err) {
      const code = err instanceof DeadlineExceeded ? 'deadline_exceeded' : 'store_error';
      this.deps.metrics.error(adapter, code);
      if (code === 'store_error') this.deps.logger.error({ err: toError(err), adapter }, 'approvals store failed; answering per fail_mode');
      decision = failDecision(rt.config.fail_mode, rt.config.responses.denied_status, code);
      child?.setAttribute('error.type', code);
    }
    child?.end();
    return this.finish(decision, { adapter, t0, request: req, action, route, ids, ab, span, mcp: e.mcp });
  }

  private finishRemote(e: Evaluation, a: RemoteAnswer): CheckResult {
    const { adapter, request, route, t0, span } = e;
    this.deps.metrics.cache(a.cacheHit && a.failure === undefined);
    // A stale answer is counted by ascend_remote_stale_served_total, not as an error.
    if (a.failure !== undefined && a.decision.stale !== true) this.deps.metrics.error(adapter, 'control_plane_unavailable');
    const ids: ResultIds | undefined = a.actionId === undefined && a.retryAfterSeconds === undefined
      ? undefined
      : { actionId: a.actionId ?? uuidV4(), approvalId: a.approvalId, statusUrl: a.statusUrl, retryAfterSeconds: a.retryAfterSeconds, review: a.review };
    return this.finish(a.decision, { adapter, t0, request, action: e.input.action, route, cacheHit: a.cacheHit, ids, span, mcp: e.mcp });
  }

  private onError(adapter: AdapterName, e: unknown, c: Config): Decision {
    if (e instanceof RequestError) {
      this.deps.metrics.error(adapter, e.code);
      return invalidRequestDecision(e);
    }
    const err = toError(e);
    this.deps.metrics.error(adapter, 'evaluation_error');
    this.deps.logger.error({ err, adapter }, 'evaluation failed; answering per fail_mode');
    return failDecision(c.fail_mode, c.responses.denied_status);
  }

  private finish(decision: Decision, f: Finish): CheckResult {
    const { adapter, request, action, route, t0, ids } = f;
    const cacheHit = f.cacheHit === true;
    const latencyUs = (this.now() - t0) * 1000;
    const pending = decision.decision === 'pending';
    const c = this.deps.state.runtime.config;
    const approvalId = ids !== undefined ? ids.approvalId : pending && action ? approvalIdFor(action) : undefined;
    const result: CheckResult = {
      adapter,
      decision,
      actionId: ids !== undefined ? ids.actionId : uuidV4(),
      actionIdPlain: ids === undefined,
      approvalId,
      statusUrl: approvalId === undefined ? undefined : ids?.statusUrl ?? approvalStatusUrl(c.api.public_url, approvalId),
      approval: ids?.approval,
      review: ids?.review,
      retryAfterSeconds: ids?.retryAfterSeconds ?? (pending || decision.code === TOO_MANY_PENDING ? c.responses.retry_after_seconds : undefined),
      action,
      request,
      route,
      cacheHit,
      latencyUs,
      ab: f.ab,
      mcp: f.mcp,
    };
    const m = this.deps.metrics;
    if (f.ab !== undefined) {
      for (const { test, variant } of f.ab) {
        this.deps.state.ab.record(test.name, variant, decision.decision);
        m.abDecision(test.name, variant, decision.decision);
      }
    }
    const span = f.span;
    if (span === undefined) m.decision(adapter, decision.decision, latencyUs / 1e6);
    else {
      const tracing = this.deps.tracing as CheckTracing;
      tracing.endCheck(span, result);
      m.decision(adapter, decision.decision, latencyUs / 1e6, tracing.exemplar(span));
    }
    if (decision.flagged) m.flag(adapter);
    if (decision.failOpen) m.failedOpen(adapter);
    if (decision.monitor) m.monitorOverride(decision.monitor.wouldBe);
    const sinks = this.deps.sinks;
    for (let i = 0; i < sinks.length; i++) (sinks[i] as DecisionSink).record(result);
    return result;
  }
}
