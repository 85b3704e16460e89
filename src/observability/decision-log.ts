/**
 * The decision log: one JSON line per check, the audit trail and the SIEM feed.
 * Fields: action_id, request_id, adapter, agent_id, action_type, resource, decision, code,
 * policy_id, risk_score, cache_hit, latency_us (+ route, approval_id, flagged, monitor,
 * fail_open, reason, method, path, raw_target, headers, body when set). The body only with
 * `decision_log.include_body`: JSON or form data with secret members redacted, anything else
 * (and a partial body) only as `body_bytes`.
 *
 * Lines are pino's format (level, time, service, pid, kind, …, msg) but built here as one
 * string and written to the same destination: serializing an object through pino cost
 * ~3.6 µs a check, the largest single item on a cache hit. The part that depends only on the
 * (memoized, immutable) Decision is built once per Decision.
 */
import type { DestinationStream, Logger } from 'pino';
import type { Decision } from '../core/decision.js';
import { ADAPTERS, type AdapterName } from '../gateway/request.js';
import type { CheckResult } from '../pipeline/result.js';
import type { DecisionSink } from '../pipeline/sinks.js';
import { flushStream, linesTo, logDestination, streamOf } from './logger.js';
import { Encoded, type LineOut } from './line-buffer.js';
import { LastRun } from './last-run.js';
import type { Redaction } from './redact.js';
import { parseBody, type BodyLimits } from '../gateway/body.js';
import type { GatewayRequest } from '../gateway/request.js';

export interface DecisionLogOptions {
  enabled: boolean;
  includeHeaders: boolean;
  /** The current redaction lists (read per line, so a reload applies). */
  redaction: () => Redaction;
  /** Batch lines before writing (the server does; tests read lines as they are written). */
  batch?: boolean;
  /** decision_log.include_body (read per line, so a reload applies): the limits to parse with, or undefined when off. */
  body?: () => BodyLimits | undefined;
}

const q = JSON.stringify;
const enc = (text: string): Encoded => new Encoded(text);
const NULL = enc('null');
const BASE = `,"service":"ascend-sidecar","pid":${process.pid},"kind":"decision","action_id":`;
/** Every line's start up to the action id, for the millisecond `ms`. */
const head = (ms: number): Encoded => enc(`{"level":30,"time":${ms}${BASE}`);
/** Where the time's digits start in a line's start. */
const TIME_AT = '{"level":30,"time":'.length;

/**
 * The line's start for `ms` from `last`, the start for `lastMs`: when both times have as many
 * digits (every millisecond of the years 2001–2286), a copy of its bytes with the digits
 * written over — no number formatted, no string made and encoded (a check a millisecond apart
 * from the one before, as requests one at a time are, paid that on every line).
 */
function nextHead(last: Encoded, lastMs: number, ms: number): Encoded {
  if (!(Number.isSafeInteger(ms) && ms >= 1e12 && ms < 1e13 && lastMs >= 1e12 && lastMs < 1e13)) return head(ms);
  const from = last.bytes;
  const b = Buffer.allocUnsafe(from.length);
  b.set(from);
  let m = ms;
  for (let p = TIME_AT + 12; p >= TIME_AT; p--) {
    const q = Math.floor(m / 10);
    b[p] = 0x30 + (m - q * 10);
    m = q;
  }
  return new Encoded(undefined, b);
}
const REQUEST_ID = enc(',"request_id":');
/** `,"adapter":"…","agent_id":` per adapter, built once rather than per line. */
const ADAPTER_PART = Object.fromEntries(ADAPTERS.map((a) => [a, enc(`,"adapter":"${a}","agent_id":`)])) as Record<AdapterName, Encoded>;
const ACTION_TYPE = enc(',"action_type":');
const RESOURCE = enc(',"resource":');
const CACHE_HIT = ',"cache_hit":true,"latency_us":';
const CACHE_MISS = ',"cache_hit":false,"latency_us":';

/** A Decision's part of the line followed by `cache_hit` and the `latency_us` name, for a hit and a miss. */
interface DecisionParts {
  readonly hit: Encoded;
  readonly miss: Encoded;
}
const ROUTE = enc(',"route":');
const APPROVAL_ID = enc(',"approval_id":');
const METHOD = enc(',"method":');
const PATH = enc(',"path":');
const RAW_TARGET = enc(',"raw_target":');
const HEADERS = enc(',"headers":');
const END = enc(',"msg":"decision"}');

/** `,"decision":…,"code":…,"policy_id":…,"risk_score":…` and the optional decision fields. */
function decisionPart(d: Decision): string {
  let s = `,"decision":"${d.decision}","code":${q(d.code)},"policy_id":${d.policyId === null ? 'null' : q(d.policyId)},"risk_score":${d.riskScore}`;
  if (d.flagged) s += ',"flagged":true';
  if (d.monitor) s += `,"monitor":${q(d.monitor)}`;
  if (d.failOpen) s += ',"fail_open":true';
  if (d.stale === true) s += ',"stale":true';
  if (d.decision !== 'allowed') s += `,"reason":${q(d.reason)}`;
  return s;
}

export class DecisionLog implements DecisionSink {
  private readonly parts = new WeakMap<Decision, DecisionParts>();
  private readonly out: LineOut | undefined;
  /**
   * The line's start for the last millisecond a line was written in: the same for every check
   * in that millisecond (dozens under load), so one copy instead of formatting the time and
   * writing three pieces per line.
   */
  private head = head(0);
  private headMs = 0;
  /** From the adapter to the `latency_us` name: the last line's, by its values. */
  private readonly mid = new LastRun();
  /**
   * The line's short tail (shortTail) by its route and request, and the redaction its raw
   * target was written with (a reload's new lists write it again).
   */
  private readonly tail = new LastRun();

  constructor(
    private readonly stream: DestinationStream | undefined,
    private readonly opts: DecisionLogOptions,
  ) {
    this.out = stream === undefined ? undefined : linesTo(stream, opts.batch === true);
  }

  /** A log that goes to `path` (appending) or to the root logger's destination. */
  static create(root: Logger, opts: DecisionLogOptions & { path?: string }): DecisionLog {
    if (!opts.enabled) return new DecisionLog(undefined, opts);
    const dest = opts.path ? logDestination(opts.path) : streamOf(root);
    return new DecisionLog(dest, opts);
  }

  record(r: CheckResult): void {
    const o = this.out;
    if (o === undefined) return;
    const d = r.decision;
    let dp = this.parts.get(d);
    if (dp === undefined) {
      const text = decisionPart(d);
      this.parts.set(d, (dp = { hit: enc(text + CACHE_HIT), miss: enc(text + CACHE_MISS) }));
    }
    const a = r.action;
    const req = r.request;
    const ms = Date.now();
    if (ms !== this.headMs) {
      this.head = nextHead(this.head, this.headMs, ms);
      this.headMs = ms;
    }
    o.encoded(this.head);
    o.json(r.actionId);
    if (req?.requestId !== undefined) {
      o.encoded(REQUEST_ID);
      o.json(req.requestId);
    }
    // From the adapter to the `latency_us` name, and from the route to the line's end: the same
    // bytes as the line before's whenever its values were (one request shape after another: a
    // gateway's traffic, the same route and resource), copied whole (last-run.ts).
    const agentId = a?.agent_id ?? null;
    const actionType = a === undefined ? undefined : a.action_type;
    const resource = a === undefined ? undefined : a.resource;
    const dpart = r.cacheHit ? dp.hit : dp.miss;
    const m = this.mid;
    if (!m.replayed(o, r.adapter, agentId, actionType, resource, dpart)) {
      this.middle(o, r.adapter, agentId, actionType, resource, dpart);
      m.end(o);
    }
    o.int(Math.round(r.latencyUs));
    // The tail's usual case: no approval or A/B test, a request, no headers or body to write.
    if (req !== undefined && r.approvalId === undefined && r.ab === undefined && !this.opts.includeHeaders && (req.body === undefined || this.opts.body === undefined)) {
      const redaction = req.rawTarget !== req.path ? this.opts.redaction() : undefined;
      const t = this.tail;
      if (!t.replayed(o, r.route, req.method, req.path, req.rawTarget, redaction)) {
        this.shortTail(o, r.route, req, redaction);
        t.end(o);
      }
      o.endLine();
      return;
    }
    if (r.route !== undefined) {
      o.encoded(ROUTE);
      o.json(r.route);
    }
    if (r.approvalId !== undefined) {
      o.encoded(APPROVAL_ID);
      o.json(r.approvalId);
    }
    if (r.ab !== undefined) o.text(`,"ab":${q(Object.fromEntries(r.ab.map((m) => [m.test.name, m.variant])))}`);
    if (req !== undefined) {
      o.encoded(METHOD);
      o.json(req.method);
      o.encoded(PATH);
      o.json(req.path);
      if (req.rawTarget !== req.path) {
        o.encoded(RAW_TARGET);
        o.json(this.opts.redaction().requestTarget(req.rawTarget, req.query));
      }
      if (this.opts.includeHeaders) {
        o.encoded(HEADERS);
        o.text(q(this.opts.redaction().headers(req.headers)));
      }
      if (req.body !== undefined && this.opts.body !== undefined) {
        const limits = this.opts.body();
        if (limits !== undefined) o.text(this.bodyPart(req, limits));
      }
    }
    o.encoded(END);
    o.endLine();
  }

  /** `,"adapter":…,"agent_id":…[,"action_type":…,"resource":…]` and the Decision's part up to `"latency_us":`. */
  private middle(o: LineOut, adapter: AdapterName, agentId: string | null, actionType: string | undefined, resource: string | undefined, dpart: Encoded): void {
    o.encoded(ADAPTER_PART[adapter]);
    if (agentId === null) o.encoded(NULL);
    else o.json(agentId);
    if (actionType !== undefined) {
      o.encoded(ACTION_TYPE);
      o.json(actionType);
      o.encoded(RESOURCE);
      o.json(resource as string);
    }
    o.encoded(dpart);
  }

  /**
   * `,"route":…,"method":…,"path":…[,"raw_target":…]}` of a line with no approval, A/B test,
   * headers or body. `redaction`: the current one, read when the raw target is written.
   */
  private shortTail(o: LineOut, route: string | undefined, req: GatewayRequest, redaction: Redaction | undefined): void {
    if (route !== undefined) {
      o.encoded(ROUTE);
      o.json(route);
    }
    o.encoded(METHOD);
    o.json(req.method);
    o.encoded(PATH);
    o.json(req.path);
    if (redaction !== undefined) {
      o.encoded(RAW_TARGET);
      o.json(redaction.requestTarget(req.rawTarget, req.query));
    }
    o.encoded(END);
  }

  /** `,"body":…` redacted, or `,"body_bytes":n` for a body that is partial or not JSON or form data. */
  private bodyPart(req: GatewayRequest, limits: BodyLimits): string {
    const bytes = `,"body_bytes":${Buffer.byteLength(req.body ?? '', 'utf8')}`;
    try {
      const b = parseBody(req, limits);
      if (b === undefined) return '';
      if (b.partial) return `${bytes},"body_partial":true`;
      return `,"body":${q(this.opts.redaction().body(b.value))}`;
    } catch {
      return bytes;
    }
  }

  flush(): void {
    this.out?.flush();
    flushStream(this.stream as { flushSync?: () => void } | undefined);
  }
}
