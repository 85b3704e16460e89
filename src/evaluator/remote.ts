/**
 * Remote evaluation (`evaluator.mode: remote`): a decision the edge cannot take from its cache
 * becomes `POST {url}/api/v1/actions/submit` — the ASCEND SDK's call, so the control plane can be
 * another ascend-sidecar (a `gateway` key) or ASCEND itself — and the answer becomes the decision.
 *
 * Built for the hot path:
 * - a cache hit is synchronous and allocates nothing but its key (no promise, no event-loop hop);
 *   the key is a fingerprint of what the request body would carry (remote-key.ts), so a hit
 *   neither writes the body nor hashes it — only a miss does;
 * - a pool of keep-alive connections (h1-pool.ts) to the control plane, so a miss costs one
 *   request on a warm socket, not a TCP handshake;
 * - singleflight: concurrent identical misses share one upstream call;
 * - answers are cached for `Cache-Control: max-age` (capped by cache.ttl_ms; cache.ttl_ms when the
 *   control plane sends none; never for no-store, pending or approval-decided answers);
 * - stale-if-error: for `stale_if_error_ms` after an answer expired it is served again, marked
 *   stale, while the control plane cannot answer;
 * - a circuit breaker: `breaker.failures` consecutive failures open it, and for `open_ms` no call
 *   is made; then `half_open_probes` calls probe, and one success closes it.
 * Each call's timeout is `timeout_ms`, or three quarters of the time left before the gateway's
 * deadline (grpc-timeout) when that is shorter, so a failure is answered per fail_mode while the
 * gateway still listens.
 */
import type { Logger } from 'pino';
import { APPROVAL_STATUS_PREFIX } from '../api/paths.js';
import type { ApprovalReview, Decision, DecisionKind } from '../core/decision.js';
import type { DecisionCode } from '../core/errors.js';
import type { Config, EvaluatorConfig } from '../config/schema.js';
import { connectOptions, type ClientTls } from './client-tls.js';
import { DigestLru, KeyDigest } from './digest-lru.js';
import { H1Pool } from './h1-pool.js';
import { ForwardedFacts, parseFacts } from './request-facts.js';
import { bodyOf, forwardedJson, keyOf, type RemoteInput } from './remote-key.js';
import type { BreakerState, RemoteMetrics, RemoteOutcome } from './remote-metrics.js';

/** The denial code of a closed-mode answer when the control plane could not answer. */
export const CONTROL_PLANE_UNAVAILABLE = 'control_plane_unavailable' satisfies DecisionCode;

export const SUBMIT_PATH = '/api/v1/actions/submit';

export type { RemoteInput } from './remote-key.js';

/** What the pipeline gets back: the decision, and the control plane's ids when it was asked. */
export interface RemoteAnswer {
  readonly decision: Decision;
  readonly cacheHit: boolean;
  /** The control plane's action id (a fresh answer). */
  readonly actionId?: string | undefined;
  readonly approvalId?: string | undefined;
  /** `{url}/api/sdk/approval/{id}`: where the approval lives, on the control plane. */
  readonly statusUrl?: string | undefined;
  /** The control plane's expires_at, approved_by… of that approval (for the SDK's answer). */
  readonly review?: ApprovalReview | undefined;
  readonly retryAfterSeconds?: number | undefined;
  /** Why the control plane could not answer (a fail_mode or stale answer). */
  readonly failure?: RemoteOutcome | undefined;
}

export type { BreakerState };

/** Consecutive failures open it; after `openMs`, up to `probes` calls at once test the control plane. */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = 0;

  constructor(
    private readonly opts: { failures: number; openMs: number; probes: number },
    private readonly onChange: (to: BreakerState, from: BreakerState) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Milliseconds until an open breaker lets probes through (0 unless open). */
  get retryInMs(): number {
    return this.current === 'open' ? Math.max(0, this.openedAt + this.opts.openMs - this.now()) : 0;
  }

  /** May a call be made now? A half-open breaker admits `probes` at once. */
  allow(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.opts.openMs) return false;
      this.set('half_open');
      this.probing = 0;
    }
    if (this.probing >= this.opts.probes) return false;
    this.probing++;
    return true;
  }

  success(): void {
    this.failures = 0;
    if (this.current !== 'closed') this.set('closed');
  }

  failure(): void {
    this.failures++;
    if (this.current === 'half_open' || (this.current === 'closed' && this.failures >= this.opts.failures)) {
      this.openedAt = this.now();
      this.set('open');
    } else if (this.current === 'open') {
      this.openedAt = this.now();
    }
  }

  private set(to: BreakerState): void {
    const from = this.current;
    this.current = to;
    this.onChange(to, from);
  }
}

/** A cached answer: fresh until `freshUntil`, then only served stale (the table keeps it that much longer). */
interface Entry {
  readonly hit: RemoteAnswer;
  readonly stale: RemoteAnswer;
  readonly freshUntil: number;
}

/** A miss: its key (digest) and body, and what they were built from (to build them again). */
interface Miss {
  readonly key: string;
  readonly body: string;
  readonly input: RemoteInput;
  /** The request facts `body` was built with (this.facts then: replaced, never changed in place). */
  readonly facts: ForwardedFacts;
}

/** A flight's outcome, shared by every caller that joined it. */
type Flight =
  /**
   * `askAgain`: the answer is to the flight owner's request asked again with request facts
   * learned meanwhile; a joiner, whose request may differ in those facts, asks for its own.
   */
  | { readonly ok: true; readonly answer: RemoteAnswer; readonly askAgain?: boolean }
  | { readonly ok: false; readonly outcome: RemoteOutcome };

/** Statuses and fail mode, read from the runtime at each check (a reload applies at once). */
type Answering = Pick<Config, 'fail_mode' | 'responses'>;

const KINDS: ReadonlySet<string> = new Set<DecisionKind>(['allowed', 'denied', 'pending']);

/** Codes a control plane's answer keeps as they are; any other becomes remote_allow / remote_deny. */
const KNOWN_CODES: ReadonlySet<string> = new Set<DecisionCode>([
  'policy_allow', 'policy_flag', 'policy_deny', 'approval_required', 'default_allow', 'default_deny', 'monitor_allow',
  'approval_granted', 'approval_denied', 'agent_blocked', 'identity_required', 'too_many_pending', 'invalid_request',
]);

function codeOf(given: string | undefined, kind: DecisionKind): DecisionCode {
  if (given !== undefined && KNOWN_CODES.has(given)) return given as DecisionCode;
  return kind === 'allowed' ? 'remote_allow' : kind === 'denied' ? 'remote_deny' : 'approval_required';
}

/** `max-age` in ms from Cache-Control; 0 for no-store / no-cache; undefined when absent. */
export function maxAgeMs(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header.join(',') : header;
  if (v === undefined || v === '') return undefined;
  const lower = v.toLowerCase();
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/.test(lower)) return 0;
  const m = /(^|[\s,])max-age\s*=\s*"?(\d+)"?/.exec(lower);
  return m === null ? undefined : Number(m[2]) * 1000;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const REVIEW_FIELDS = ['expires_at', 'approved_by', 'approved_at', 'rejected_by', 'decided_at', 'comments'] as const;

/** The approval's fields of a submit answer that carries one; undefined when it sent none. */
function reviewOf(v: Record<string, unknown>): ApprovalReview | undefined {
  let review: Record<string, string> | undefined;
  for (const f of REVIEW_FIELDS) {
    const x = str(v[f]);
    if (x !== undefined) (review ??= {})[f] = x;
  }
  return review;
}

export interface RemoteOptions {
  readonly config: EvaluatorConfig;
  readonly apiKey: string;
  /** evaluator.tls, read. */
  readonly tls?: ClientTls | undefined;
  readonly cache: Config['cache'];
  readonly metrics: RemoteMetrics;
  readonly logger: Logger;
}

export class RemoteEvaluator {
  private readonly pool: H1Pool;
  private readonly base: string;
  /** The request up to the Content-Length value: the same for every call. */
  private readonly head: string;
  private readonly cache: DigestLru<Entry> | undefined;
  private readonly cacheTtlMs: number;
  private readonly flights = new Map<string, Promise<Flight>>();
  readonly breaker: CircuitBreaker;
  /** The outcome of the last call made ('ok' once one succeeded). */
  private last: RemoteOutcome | undefined;
  /** The request facts the control plane reads (its x-ascend-request-facts), forwarded with each action. */
  private facts = new ForwardedFacts([]);
  private readonly digests = new KeyDigest();

  constructor(private readonly o: RemoteOptions) {
    const url = new URL(o.config.url ?? '');
    this.base = (url.origin + url.pathname).replace(/\/+$/, '');
    const submitPath = url.pathname.replace(/\/+$/, '') + SUBMIT_PATH;
    this.pool = new H1Pool(url, { connections: o.config.connections, tls: connectOptions(o.tls), onResend: () => o.metrics.retried() });
    if (/[^\t\x20-\x7e]/.test(o.apiKey)) throw new Error('evaluator.api_key: not a valid header value');
    this.head = `POST ${submitPath} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\naccept: application/json\r\nx-api-key: ${o.apiKey}\r\ncontent-length: `;
    const c = o.cache;
    this.cacheTtlMs = c.enabled ? c.ttl_ms : 0;
    this.cache = this.cacheTtlMs > 0 ? new DigestLru<Entry>(c.max_entries, this.cacheTtlMs + o.config.stale_if_error_ms) : undefined;
    const b = o.config.breaker;
    this.breaker = new CircuitBreaker({ failures: b.failures, openMs: b.open_ms, probes: b.half_open_probes }, (to, from) => {
      o.metrics.circuit(to);
      const log = { control_plane: this.base, from, to };
      if (to === 'open') o.logger.warn({ ...log, retry_in_ms: b.open_ms }, 'control plane circuit breaker open: answering per fail_mode (or stale) without calling');
      else o.logger.info(log, to === 'closed' ? 'control plane circuit breaker closed: the control plane answers again' : 'control plane circuit breaker half-open: probing');
    });
    o.metrics.circuit('closed');
  }

  /** The control plane's base URL (as configured, without a trailing slash). */
  get url(): string {
    return this.base;
  }

  /** For /readyz: unavailable while the breaker is not closed or the last call failed. */
  get availability(): 'available' | 'unavailable' | 'unknown' {
    if (this.breaker.state !== 'closed') return 'unavailable';
    if (this.last === undefined) return 'unknown';
    return this.last === 'ok' ? 'available' : 'unavailable';
  }

  /** The request facts the control plane said it reads (forwarded with each action). */
  get requestFacts(): readonly string[] {
    return this.facts.names;
  }

  get cacheSize(): number {
    return this.cache?.size ?? 0;
  }

  clearCache(): void {
    this.cache?.clear();
  }

  /**
   * The decision for `input`: synchronous from the cache, else a promise that never rejects
   * (failures are answered per fail_mode, or stale). `deadline`: the gateway's, epoch ms.
   */
  decide(input: RemoteInput, deadline: number | undefined, rt: Answering): RemoteAnswer | Promise<RemoteAnswer> {
    const facts = this.facts;
    // A forwarded view's facts' JSON, in its key and its body: built once.
    const forwarded = forwardedJson(input, facts);
    const key = this.digests.of(keyOf(input, facts, forwarded));
    const e = this.cache?.get(key);
    if (e !== undefined && e.freshUntil > performance.now()) return e.hit;
    return this.miss({ key, body: bodyOf(input, facts, forwarded), input, facts }, e, deadline, rt);
  }

  private async miss(m: Miss, e: Entry | undefined, deadline: number | undefined, rt: Answering): Promise<RemoteAnswer> {
    let budget = this.o.config.timeout_ms;
    if (deadline !== undefined) budget = Math.min(budget, (deadline - Date.now()) * 0.75);
    if (budget <= 0) return this.failed('timeout', e, rt);
    let flight = this.flights.get(m.key);
    let r: Flight;
    if (flight !== undefined) {
      // A joiner's budget may be shorter than the flight's.
      this.o.metrics.coalesced();
      r = await within(flight, budget);
      if (r.ok && r.askAgain === true) return this.decide(m.input, deadline, rt);
    } else {
      if (!this.breaker.allow()) {
        this.o.metrics.request('circuit_open');
        return this.failed('circuit_open', e, rt);
      }
      // The flight's own timer is this caller's budget: no second timer to race it.
      flight = this.call(m, budget, rt);
      this.flights.set(m.key, flight);
      r = await flight;
    }
    return r.ok ? r.answer : this.failed(r.outcome, e, rt);
  }

  /** The control plane named the request facts it reads: true when they are not the ones forwarded so far. */
  private learn(header: string | string[] | undefined): boolean {
    const named = parseFacts(header);
    if (named === undefined || named.join(',') === this.facts.names.join(',')) return false;
    this.o.logger.info({ control_plane: this.base, request_facts: named }, 'the control plane reads these request facts: forwarding them');
    this.facts = new ForwardedFacts(named);
    return true;
  }

  /** One upstream call (and one more if the control plane asks for request facts not sent); never rejects. */
  private async call(m: Miss, timeoutMs: number, rt: Answering): Promise<Flight> {
    const t0 = performance.now();
    let { key, body } = m;
    let retried = false;
    let x = await this.pool.request(this.payload(body), timeoutMs);
    if (x.outcome === 'ok' && x.status === 409 && m.input.request !== undefined) {
      // request_facts_required: the control plane reads facts this body did not carry (its
      // policies changed). Asked again with them, within what is left of the budget — also when
      // another miss in flight learned them first (the body is then older than this.facts).
      const learned = this.learn(x.facts) || this.facts !== m.facts;
      const left = timeoutMs - (performance.now() - t0);
      if (learned && left >= 1) {
        retried = true;
        const forwarded = forwardedJson(m.input, this.facts);
        body = bodyOf(m.input, this.facts, forwarded);
        key = this.digests.of(keyOf(m.input, this.facts, forwarded));
        x = await this.pool.request(this.payload(body), left);
      } else if (learned) x = { ...x, outcome: 'timeout' };
    }
    // Settled: the next identical miss makes a call of its own (callers already joined keep theirs).
    this.flights.delete(m.key);
    let outcome: RemoteOutcome;
    const status = x.status;
    if (x.outcome !== 'ok') outcome = x.outcome;
    else {
      this.learn(x.facts);
      if (status >= 500) outcome = 'status_5xx';
      else if (status === 200 || status === 429) {
        const answer = this.answerOf(x.text, status, x.cacheControl, rt);
        if (answer !== undefined) {
          this.record('ok', t0);
          if (answer.ttlMs > 0 && this.cache !== undefined) {
            const stale: RemoteAnswer = { decision: { ...answer.answer.decision, stale: true }, cacheHit: true };
            const entry: Entry = { hit: { decision: answer.answer.decision, cacheHit: true }, stale, freshUntil: performance.now() + answer.ttlMs };
            this.cache.set(key, entry, answer.ttlMs + this.o.config.stale_if_error_ms);
          }
          return { ok: true, answer: answer.answer, askAgain: retried };
        }
        outcome = 'invalid_answer';
      } else if (status === 400 || status === 422) {
        // The control plane refused the action itself (e.g. an agent id it does not accept):
        // a denial, not an outage.
        this.record('status_4xx', t0, false);
        return { ok: true, answer: { decision: rejected(x.text, status, rt), cacheHit: false }, askAgain: retried };
      } else outcome = 'status_4xx';
    }
    this.record(outcome, t0);
    return { ok: false, outcome };
  }

  private payload(body: string): string {
    return `${this.head}${Buffer.byteLength(body)}\r\n\r\n${body}`;
  }

  private record(outcome: RemoteOutcome, t0: number, failure = outcome !== 'ok'): void {
    this.last = failure ? outcome : 'ok';
    if (failure) this.breaker.failure();
    else this.breaker.success();
    this.o.metrics.request(outcome);
    this.o.metrics.latency((performance.now() - t0) / 1000);
  }

  /** A submit answer → the decision and how long it may be cached; undefined when it is not one. */
  private answerOf(text: string, status: number, cacheControl: string | undefined, rt: Answering): { answer: RemoteAnswer; ttlMs: number } | undefined {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (v === null || typeof v !== 'object' || typeof v.decision !== 'string' || !KINDS.has(v.decision)) return undefined;
    const kind = v.decision as DecisionKind;
    const meta = (v.metadata !== null && typeof v.metadata === 'object' ? v.metadata : {}) as Record<string, unknown>;
    const code = codeOf(str(v.code) ?? str(meta.code), kind);
    const approvalId = str(v.approval_request_id) ?? str(v.approval_id);
    const approvers = Array.isArray(v.required_approvers) ? v.required_approvers.filter((a): a is string => typeof a === 'string') : [];
    const r = rt.responses;
    const decision: Decision = {
      decision: kind,
      reason: str(v.reason) ?? `${kind} by the control plane`,
      code,
      policyId: str(v.policy_id) ?? null,
      policyName: null,
      riskScore: typeof v.risk_score === 'number' ? v.risk_score : 0,
      flagged: code === 'policy_flag',
      approvers: kind === 'pending' ? approvers : undefined,
      workflow: undefined,
      monitor: undefined,
      failOpen: false,
      httpStatus: status === 429 ? 429 : kind === 'allowed' ? 200 : kind === 'denied' ? r.denied_status : r.pending_status,
    };
    const retry = typeof v.retry_after === 'number' ? v.retry_after : undefined;
    const answer: RemoteAnswer = {
      decision, cacheHit: false, actionId: str(v.action_id), approvalId,
      statusUrl: approvalId === undefined ? undefined : `${this.base}${APPROVAL_STATUS_PREFIX}${encodeURIComponent(approvalId)}`,
      review: approvalId === undefined ? undefined : reviewOf(v),
      retryAfterSeconds: kind === 'pending' ? (retry ?? r.retry_after_seconds) : status === 429 ? (retry ?? r.retry_after_seconds) : undefined,
    };
    // Never cached: pending, an answer an approval decided (its grant may be single-use or
    // expire), a 429, or what the control plane says not to keep.
    const age = maxAgeMs(cacheControl);
    const cacheable = kind !== 'pending' && approvalId === undefined && status === 200;
    const ttlMs = cacheable ? Math.min(age ?? this.cacheTtlMs, this.cacheTtlMs) : 0;
    return { answer, ttlMs };
  }

  /** The control plane could not answer: a stale answer while there is one, else per fail_mode. */
  private failed(outcome: RemoteOutcome, e: Entry | undefined, rt: Answering): RemoteAnswer {
    if (e !== undefined) {
      this.o.metrics.staleServed();
      return { ...e.stale, failure: outcome };
    }
    const retry = Math.max(1, Math.ceil(Math.max(this.breaker.retryInMs, 1000) / 1000));
    return { decision: unavailableDecision(rt, outcome), cacheHit: false, failure: outcome, retryAfterSeconds: rt.fail_mode === 'closed' ? retry : undefined };
  }

  /** Stops accepting calls; in-flight ones finish. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** The flight's outcome, or a timeout for a joiner whose own budget is shorter. */
function within(flight: Promise<Flight>, ms: number): Promise<Flight> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Flight>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, outcome: 'timeout' }), Math.max(1, ms));
  });
  return Promise.race([flight, timeout]).finally(() => clearTimeout(timer));
}

const base = { policyId: null, policyName: null, riskScore: 0, flagged: false, approvers: undefined, workflow: undefined, monitor: undefined } as const;

/** fail_mode closed: denied with responses.unavailable_status; open: allowed and marked. */
export function unavailableDecision(rt: Answering, outcome: RemoteOutcome): Decision {
  return rt.fail_mode === 'open'
    ? { ...base, decision: 'allowed', code: 'fail_open', reason: `the control plane could not answer (${outcome}); allowed by fail_mode open`, failOpen: true, httpStatus: 200 }
    : { ...base, decision: 'denied', code: CONTROL_PLANE_UNAVAILABLE, reason: `the control plane could not answer (${outcome}); denied by fail_mode closed`, failOpen: false, httpStatus: rt.responses.unavailable_status };
}

/** A 400/422 from the control plane: the action was refused as malformed there. */
function rejected(text: string, status: number, rt: Answering): Decision {
  let detail = `HTTP ${status}`;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    detail = str(v.detail) ?? str((v.error as Record<string, unknown> | undefined)?.message) ?? detail;
  } catch { /* the status says enough */ }
  return { ...base, decision: 'denied', code: 'invalid_request', reason: `the control plane refused the action: ${detail}`, failOpen: false, httpStatus: rt.responses.denied_status };
}

/** What the remote evaluator is built from (a Runtime is one). */
export interface RemoteSettings {
  readonly config: Config;
  readonly evaluatorKey: string | undefined;
  readonly evaluatorTls: ClientTls | undefined;
}

/**
 * The runtime's remote evaluator, kept across reloads while its settings stay the same (the
 * pool's connections are reused; the cache is cleared — its answers were for the old mapping);
 * replaced, and the old pool closed, when they change (the url, the key, the TLS files' content,
 * or the mode: a reload switches local ↔ remote).
 */
export class RemoteControl {
  private evaluator: RemoteEvaluator | undefined;
  private settings = '';

  constructor(private readonly metrics: RemoteMetrics, private readonly logger: Logger) {}

  get current(): RemoteEvaluator | undefined {
    return this.evaluator;
  }

  apply(rt: RemoteSettings): void {
    const { config, evaluatorKey: apiKey, evaluatorTls: tls } = rt;
    const ev = config.evaluator;
    const wanted = ev.mode === 'remote' && apiKey !== undefined ? JSON.stringify([ev, config.cache, apiKey, tls?.digest ?? null]) : '';
    if (wanted === this.settings) {
      this.evaluator?.clearCache();
      return;
    }
    const old = this.evaluator;
    this.evaluator = wanted === '' ? undefined : new RemoteEvaluator({ config: ev, apiKey: apiKey as string, tls, cache: config.cache, metrics: this.metrics, logger: this.logger });
    this.settings = wanted;
    if (this.evaluator === undefined) this.metrics.circuit('closed');
    void old?.close();
  }

  async close(): Promise<void> {
    await this.evaluator?.close();
  }
}
