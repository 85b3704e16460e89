/**
 * The side effects that hang off decisions (docs/architecture.md, "Side effects after a decision"), built
 * from the config: the approvals layer (store, workflows, webhooks) when `store:` is set, the
 * durable audit sink, the alert detector and the SIEM stream — plus what a reload must tell them.
 * Without `store:` only the SIEM stream (if enabled) exists and pending stays stateless.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AlertDetector } from './alerts/detector.js';
import { createApprovalsLayer, type ApprovalsLayer } from './approvals/layer.js';
import type { TimeoutEvent } from './approvals/service.js';
import type { AuditDropReason } from './approvals/store/audit-buffer.js';
import { guardStore, type StoreHealth } from './approvals/store/guarded-store.js';
import { PostgresStore } from './approvals/store/postgres/postgres-store.js';
import type { Store } from './approvals/store/store.js';
import { WorkerStore } from './approvals/store/worker/worker-store.js';
import { AuditStream } from './observability/audit-stream.js';
import { auditSink } from './observability/audit-sink.js';
import { approvalGate, type ApprovalGate } from './pipeline/approval.js';
import type { DecisionSink } from './pipeline/sinks.js';
import type { Completion } from './observability/completions.js';
import type { RuntimeState } from './pipeline/state.js';
import type { Clock, Timers } from './shared/runtime.js';

export interface SideEffectDeps {
  readonly state: RuntimeState;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly now: Clock;
  readonly timers: Timers | undefined;
  readonly fetch: typeof fetch | undefined;
  /** Batch SIEM-stream lines before writing (see LineBuffer). */
  readonly batchLogs?: boolean | undefined;
  /** Told about audit rows lost by the store's buffer or the SIEM stream. */
  readonly onAuditDrop?: ((sink: 'store' | 'stream', reason: AuditDropReason | 'write_failed', rows: number) => void) | undefined;
}

export interface SideEffects {
  readonly layer: ApprovalsLayer | undefined;
  readonly gate: ApprovalGate | undefined;
  readonly auditStream: AuditStream | undefined;
  /** Sinks besides the decision log, in recording order. */
  readonly sinks: readonly DecisionSink[];
  /** Whether the store answers (/readyz `store`); undefined without `store:`. */
  readonly storeHealth: StoreHealth | undefined;
  /** The package version (the OpenAPI document's). */
  readonly version: string;
  /** Stop the layer (after the listeners drained) and flush the stream. */
  stop(): Promise<void>;
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The store of `store.driver`: SQLite runs in a worker thread (WorkerStore), so its writes —
 * fsync, and waits for another process's lock — never hold the event loop that answers checks;
 * PostgreSQL is network I/O through a pool in this thread, shared by every replica.
 */
function openStore(d: SideEffectDeps, log: SideEffectDeps['logger']): Promise<Store> {
  const rt = d.state.runtime;
  const c = rt.config.store!;
  if (c.driver === 'postgres') {
    return PostgresStore.open({ url: rt.storeUrl!, poolMax: c.pool_max, statementTimeoutMs: c.statement_timeout_ms, schema: c.schema, log });
  }
  return WorkerStore.open({ path: c.path, synchronous: c.synchronous, log });
}

/**
 * A deadline passed: the approval escalated to new approvers, or its workflow's timeout_action
 * decided it. Nobody pressed a button, so without this line the trail would show the decision
 * and no reason for it.
 */
function timeoutRecorder(log: Logger, stream: AuditStream | undefined): (t: TimeoutEvent) => void {
  return ({ outcome, approval: a }) => {
    const fields = {
      approval_id: a.approval_id, action_id: a.action_id, outcome, reason: a.reason,
      step: a.current_step + 1, escalated: a.escalated, deadline_at: a.deadline_at === null ? null : new Date(a.deadline_at).toISOString(),
    };
    const type = outcome === 'escalated' ? 'approval.escalated' : 'approval.timed_out';
    log.info(fields, outcome === 'escalated' ? 'approval escalated after its deadline' : `approval ${outcome} by its timeout`);
    stream?.event(type, fields);
  };
}

async function openLayer(d: SideEffectDeps, auditStream: AuditStream | undefined): Promise<{ layer: ApprovalsLayer; health: StoreHealth } | undefined> {
  const c = d.state.runtime.config;
  if (!c.store) return undefined;
  const log = d.logger.child({ component: 'approvals' });
  const raw = await openStore(d, log);
  const fleet = raw instanceof PostgresStore ? raw.fleet : undefined;
  const { store, health } = guardStore(raw, { registry: d.registry, log: d.logger.child({ component: 'store' }) });
  const layer = createApprovalsLayer(
    { store: c.store, approvals: c.approvals, webhooks: d.state.runtime.webhooks, webhook_delivery: c.webhook_delivery },
    {
      store, registry: d.registry, log, now: d.now,
      ...(d.timers ? { timers: d.timers } : {}), ...(d.fetch ? { fetch: d.fetch } : {}),
      settings: () => d.state.runtime.approvalSettings,
      allowPrivateWebhookTargets: () => d.state.runtime.config.api.allow_private_webhook_targets,
      publicUrl: () => d.state.runtime.config.api.public_url,
      onAuditDrop: (rows, reason) => d.onAuditDrop?.('store', reason, rows),
      onTimeout: timeoutRecorder(log, auditStream),
      ...(fleet ? { fleet } : {}),
    },
  );
  d.state.onSwap((rt) => {
    layer.setWebhooks(rt.webhooks);
    const data = { version: rt.version, hash: rt.hash, policies: rt.engine.policies.length, routes: rt.routeCount };
    layer.events.publish('policy.reloaded', data).catch((err: unknown) => d.logger.error({ err }, 'policy.reloaded could not be queued'));
  });
  return { layer, health };
}

/** What a gateway's completion report says happened: `success` below HTTP 400. */
function completionStatus(c: Completion): 'success' | 'failure' | 'unknown' {
  return c.upstreamStatus === undefined ? 'unknown' : c.upstreamStatus < 400 ? 'success' : 'failure';
}

/**
 * A gateway's completion report (Kong's log phase). For an action the store knows — one that
 * went through an approval — it completes it there, which emits `action.completed`; reports for
 * actions the store never held (plain allows) are logged and counted, as before. Either way it
 * is an `action.completed` line in the SIEM stream, like a REST completion, with the agent the
 * store knows (else null: the decision line with the same action_id names it) — once per action
 * when the store has it, as for REST.
 */
export function completionRecorder(
  d: { layer: ApprovalsLayer | undefined; auditStream: AuditStream | undefined; logger: Logger },
): (c: Completion) => void {
  return (c) => {
    const status = completionStatus(c);
    const siem = (agentId: string | null): void => d.auditStream?.event('action.completed', {
      action_id: c.actionId, agent_id: agentId, status, adapter: c.adapter,
      upstream_status: c.upstreamStatus ?? null, latencies_ms: c.latenciesMs ?? null,
    });
    if (!d.layer) return siem(null);
    const result = { adapter: c.adapter, upstream_status: c.upstreamStatus ?? null, latencies_ms: c.latenciesMs ?? null };
    d.layer.approvals.complete({ action_id: c.actionId, status, result }).then((r) => {
      if (r.ok && !r.changed) return; // a repeated report: recorded once already
      const agent = r.ok ? r.action.agent_id : r.action?.agent_id;
      siem(agent === undefined || agent === '' ? null : agent);
    }, (err: unknown) => {
      d.logger.error({ err, action_id: c.actionId }, 'could not store a completion');
      siem(null);
    });
  };
}

export async function buildSideEffects(d: SideEffectDeps): Promise<SideEffects> {
  const c = d.state.runtime.config;
  const auditStream = c.audit_stream.enabled
    ? AuditStream.open(c.audit_stream.path, d.logger, { now: d.now, batch: d.batchLogs, onDrop: (rows) => d.onAuditDrop?.('stream', 'write_failed', rows) })
    : undefined;
  const opened = await openLayer(d, auditStream);
  const layer = opened?.layer;
  const sinks: DecisionSink[] = [];
  if (layer) {
    sinks.push(auditSink(layer.audit, d.now));
    sinks.push(new AlertDetector({
      publish: (data) => layer.events.publish('alert.triggered', data),
      config: () => d.state.runtime.config.alerts, now: d.now, log: d.logger,
    }));
  }
  if (auditStream) sinks.push(auditStream);
  const gate = layer && approvalGate(layer.approvals, () => d.state.runtime.config.responses.denied_status);
  return {
    layer, gate, auditStream, sinks, version: VERSION, storeHealth: opened?.health,
    async stop() {
      await layer?.stop();
      auditStream?.flush();
    },
  };
}
