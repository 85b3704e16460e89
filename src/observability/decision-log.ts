/**
 * The decision log: one JSON line per check, the audit trail and the SIEM feed.
 * Fields: action_id, request_id, adapter, agent_id, action_type, resource, decision, code,
 * policy_id, risk_score, cache_hit, latency_us (+ route, flagged, monitor, fail_open when set).
 */
import pino, { type Logger } from 'pino';
import type { CheckResult } from '../pipeline/result.js';
import type { DecisionSink } from '../pipeline/sinks.js';
import { flushSync, redactHeaders, streamOf } from './logger.js';

export interface DecisionLogOptions {
  enabled: boolean;
  includeHeaders: boolean;
}

export class DecisionLog implements DecisionSink {
  constructor(
    private readonly logger: Logger | undefined,
    private readonly opts: DecisionLogOptions,
  ) {}

  /**
   * A log that goes to `path` (appending) or to the root logger's stream. It is its own pino
   * instance without pino's path redaction: redacting every line cost ~9 % of a cached check's
   * CPU, and decision lines carry no secrets (headers only with include_headers, masked here).
   */
  static create(root: Logger, opts: DecisionLogOptions & { path?: string }): DecisionLog {
    if (!opts.enabled) return new DecisionLog(undefined, opts);
    const dest = opts.path ? pino.destination({ dest: opts.path, mkdir: true, sync: false, append: true, maxWrite: 4096 }) : streamOf(root);
    return new DecisionLog(pino({ level: 'info', base: { service: 'ascend-sidecar', pid: process.pid, kind: 'decision' } }, dest), opts);
  }

  record(r: CheckResult): void {
    if (!this.logger) return;
    const d = r.decision;
    const a = r.action;
    const line: Record<string, unknown> = {
      action_id: r.actionId,
      request_id: r.request?.requestId,
      adapter: r.adapter,
      agent_id: a?.agent_id ?? null,
      action_type: a?.action_type,
      resource: a?.resource,
      decision: d.decision,
      code: d.code,
      policy_id: d.policyId,
      risk_score: d.riskScore,
      cache_hit: r.cacheHit,
      latency_us: Math.round(r.latencyUs),
    };
    if (r.route !== undefined) line.route = r.route;
    if (r.approvalId !== undefined) line.approval_id = r.approvalId;
    if (d.flagged) line.flagged = true;
    if (d.monitor) line.monitor = d.monitor;
    if (d.failOpen) line.fail_open = true;
    if (d.decision !== 'allowed') line.reason = d.reason;
    if (r.request) {
      line.method = r.request.method;
      line.path = r.request.path;
      if (r.request.rawTarget !== r.request.path) line.raw_target = r.request.rawTarget;
      if (this.opts.includeHeaders) line.headers = redactHeaders(r.request.headers);
    }
    this.logger.info(line, 'decision');
  }

  flush(): void {
    if (this.logger) flushSync(this.logger);
  }
}
