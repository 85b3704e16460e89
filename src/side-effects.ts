/**
 * The side effects that hang off decisions (DESIGN.md "side effects after a decision"), built
 * from the config: the approvals layer (store, workflows, webhooks) when `store:` is set, the
 * durable audit sink, the alert detector and the SIEM stream — plus what a reload must tell them.
 * Without `store:` only the SIEM stream (if enabled) exists and pending stays stateless.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AlertDetector } from './alerts/detector.js';
import { createApprovalsLayer, type ApprovalsLayer } from './approvals/layer.js';
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
}

export interface SideEffects {
  readonly layer: ApprovalsLayer | undefined;
  readonly gate: ApprovalGate | undefined;
  readonly auditStream: AuditStream | undefined;
  /** Sinks besides the decision log, in recording order. */
  readonly sinks: readonly DecisionSink[];
  /** The package version (the OpenAPI document's). */
  readonly version: string;
  /** Stop the layer (after the listeners drained) and flush the stream. */
  stop(): Promise<void>;
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The store runs in a worker thread (WorkerStore), so its writes — fsync, and waits for another
 * process's lock — never hold the event loop that answers checks.
 */
async function openLayer(d: SideEffectDeps): Promise<ApprovalsLayer | undefined> {
  const c = d.state.runtime.config;
  if (!c.store) return undefined;
  const log = d.logger.child({ component: 'approvals' });
  const store = await WorkerStore.open({ path: c.store.path, synchronous: c.store.synchronous, log });
  const layer = createApprovalsLayer(
    { store: c.store, approvals: c.approvals, webhooks: c.webhooks, webhook_delivery: c.webhook_delivery },
    {
      store, registry: d.registry, log, now: d.now,
      ...(d.timers ? { timers: d.timers } : {}), ...(d.fetch ? { fetch: d.fetch } : {}),
      settings: () => d.state.runtime.approvalSettings,
      allowPrivateWebhookTargets: () => d.state.runtime.config.api.allow_private_webhook_targets,
    },
  );
  d.state.onSwap((rt) => {
    layer.setWebhooks(rt.config.webhooks);
    const data = { version: rt.version, hash: rt.hash, policies: rt.engine.policies.length, routes: rt.routeCount };
    layer.events.publish('policy.reloaded', data).catch((err: unknown) => d.logger.error({ err }, 'policy.reloaded could not be queued'));
  });
  return layer;
}

/**
 * A gateway's completion report (Kong's log phase) for an action the store knows — one that
 * went through an approval — completes it there, which emits `action.completed`. Reports for
 * actions the store never held (plain allows) are only logged and counted, as before.
 */
export function completionsToStore(layer: ApprovalsLayer, logger: Logger): (c: Completion) => void {
  return (c) => {
    const status = c.upstreamStatus === undefined ? 'unknown' : c.upstreamStatus < 400 ? 'success' : 'failure';
    const result = { adapter: c.adapter, upstream_status: c.upstreamStatus ?? null, latencies_ms: c.latenciesMs ?? null };
    layer.approvals.complete({ action_id: c.actionId, status, result }).catch((err: unknown) =>
      logger.error({ err, action_id: c.actionId }, 'could not store a completion'));
  };
}

export async function buildSideEffects(d: SideEffectDeps): Promise<SideEffects> {
  const c = d.state.runtime.config;
  const layer = await openLayer(d);
  const auditStream = c.audit_stream.enabled ? AuditStream.open(c.audit_stream.path, d.now, d.logger, d.batchLogs) : undefined;
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
    layer, gate, auditStream, sinks, version: VERSION,
    async stop() {
      await layer?.stop();
      auditStream?.flush();
    },
  };
}
