/**
 * The SIEM stream: JSON lines, one per decision and one per approval vote or action completion,
 * on stdout or appended to a file. Distinct from the decision log on purpose: the decision log
 * is the operational log (pino levels, the logger's fields, request details for debugging);
 * this stream is a flat, versioned record (`schema: 1`) that a SIEM parser can rely on, carries
 * the approver trail the decision log never sees, and can go to its own file while the
 * decision log stays on stdout. Line format: README "SIEM stream".
 */
import pino, { type Logger } from 'pino';
import type { CheckResult } from '../pipeline/result.js';
import type { DecisionSink } from '../pipeline/sinks.js';
import type { Clock } from '../shared/runtime.js';
import { auditRecord } from './audit-sink.js';
import type { LineOut } from './line-buffer.js';
import { flushStream, linesTo, logDestination, streamOf } from './logger.js';

type Destination = { write(s: string): unknown; flushSync?(): void };

export interface AuditStreamOptions {
  readonly now: Clock;
  /** Batch lines into chunks (the server); tests read them as they are written. */
  readonly batch?: boolean | undefined;
  /** Told how many lines the destination could not write (ascend_audit_dropped_total{sink="stream"}). */
  readonly onDrop?: ((rows: number) => void) | undefined;
}

export class AuditStream implements DecisionSink {
  private readonly out: LineOut;
  private readonly now: Clock;

  constructor(private readonly dest: Destination, opts: AuditStreamOptions) {
    this.now = opts.now;
    this.out = linesTo(dest, opts.batch === true, opts.onDrop);
  }

  /**
   * To `path` (appending, directories created; written in chunks, flushed on close) or, without
   * a path, through the root logger's own destination: a second writer on stdout could interleave
   * partial lines with the logger's under back-pressure.
   */
  static open(path: string | undefined, root: Logger, opts: AuditStreamOptions): AuditStream {
    const dest = path === undefined
      ? (streamOf(root) as Destination)
      : logDestination(path);
    return new AuditStream(dest, opts);
  }

  record(r: CheckResult): void {
    const ts = this.now();
    const row: Record<string, unknown> = { ...auditRecord(r, ts), code: r.decision.code };
    if (r.approvalId !== undefined) row.approval_id = r.approvalId;
    if (row.agent_id === '') row.agent_id = null;
    this.line('decision', ts, row);
  }

  /** An approver's vote, an agent's completion report, or a deadline's timeout applied. */
  event(type: 'approval.vote' | 'action.completed' | 'approval.escalated' | 'approval.timed_out', fields: Record<string, unknown>): void {
    this.line(type, this.now(), fields);
  }

  flush(): void {
    this.out.flush();
    flushStream(this.dest);
  }

  private line(type: string, ts: number, fields: Record<string, unknown>): void {
    this.out.text(JSON.stringify({ schema: 1, kind: 'audit', type, time: new Date(ts).toISOString(), ...fields }));
    this.out.endLine();
  }
}
