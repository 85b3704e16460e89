/**
 * OpenTelemetry tracing of checks (`tracing.enabled`, off by default). One span per check,
 * `ascend.check`, continuing the W3C `traceparent` the gateway forwarded with the request
 * (Envoy puts its trace context in the request headers it hands ext_authz; Kong and
 * forward-auth pass the original headers), with the decision's attributes; child spans for
 * the calls a check waits on (the approvals store, the control plane); exported over OTLP/HTTP
 * (JSON) in batches. The sampled check's trace id becomes the exemplar of its
 * ascend_authz_check_duration_seconds bucket.
 *
 * Nothing is registered globally (no global tracer provider, no context manager): the
 * pipeline holds this object and passes spans explicitly, so with tracing off there is no
 * tracer at all and a check pays one `undefined` test (bench/README.md "Tracing").
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, defaultTextMapGetter, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import type { TracingConfig } from '../config/schema.js';
import type { AdapterName, HeaderInput } from '../gateway/request.js';
import type { CheckResult } from '../pipeline/result.js';

export type { Span } from '@opentelemetry/api';

/** Codes of decisions made because something failed (fail_mode): the span's status is ERROR. */
const FAULTS = new Set(['evaluation_error', 'store_error', 'deadline_exceeded', 'internal_error', 'fail_open', 'control_plane_unavailable']);

const propagator = new W3CTraceContextPropagator();

/** What the pipeline needs of tracing. */
export interface CheckTracing {
  /** A check's span, a child of the gateway's trace when `headers` carry a valid traceparent. */
  startCheck(adapter: AdapterName, headers: HeaderInput | undefined): Span;
  /** A span under `parent` for a call the check waits on, started at `startMs` (epoch ms). */
  child(parent: Span, name: string, startMs: number, attributes?: Record<string, string | number | boolean>): Span;
  /** Sets the decision's attributes and ends the check span. */
  endCheck(span: Span, r: CheckResult): void;
  /** The trace id to keep as an exemplar, when the span is sampled. */
  exemplar(span: Span): string | undefined;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** A header value as the propagator reads it: one string (repeated headers joined). */
const headerGetter = {
  get(carrier: HeaderInput, key: string): string | undefined {
    const v = carrier[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : v.join(',');
  },
  keys: (carrier: HeaderInput) => defaultTextMapGetter.keys(carrier),
};

function attributesOf(r: CheckResult): Record<string, string | number | boolean> {
  const d = r.decision;
  const a: Record<string, string | number | boolean> = {
    'ascend.decision': d.decision,
    'ascend.action_id': r.actionId,
    'ascend.cache_hit': r.cacheHit,
  };
  a['ascend.decision.code'] = d.code;
  a['ascend.risk_score'] = d.riskScore;
  if (d.policyId !== null) a['ascend.policy_id'] = d.policyId;
  if (r.approvalId !== undefined) a['ascend.approval_id'] = r.approvalId;
  if (r.route !== undefined) a['ascend.route'] = r.route;
  const act = r.action;
  if (act !== undefined) {
    if (act.agent_id !== null) a['ascend.agent_id'] = act.agent_id;
    a['ascend.action_type'] = act.action_type;
    a['ascend.resource'] = act.resource;
  }
  if (r.request !== undefined) {
    a['http.request.method'] = r.request.method;
    a['url.path'] = r.request.path;
  }
  return a;
}

class OtelCheckTracing implements CheckTracing {
  constructor(private readonly tracer: Tracer, private readonly provider: BasicTracerProvider) {}

  startCheck(adapter: AdapterName, headers: HeaderInput | undefined): Span {
    const parent = headers === undefined || headers.traceparent === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    return this.tracer.startSpan('ascend.check', { kind: SpanKind.SERVER, attributes: { 'ascend.adapter': adapter } }, parent);
  }

  child(parent: Span, name: string, startMs: number, attributes?: Record<string, string | number | boolean>): Span {
    return this.tracer.startSpan(name, { kind: SpanKind.CLIENT, startTime: startMs, ...(attributes === undefined ? {} : { attributes }) }, trace.setSpan(ROOT_CONTEXT, parent));
  }

  endCheck(span: Span, r: CheckResult): void {
    // An MCP batch answers several calls from one check: the span ends with the first.
    if (!span.isRecording()) return;
    span.setAttributes(attributesOf(r));
    if (FAULTS.has(r.decision.code)) span.setStatus({ code: SpanStatusCode.ERROR, message: r.decision.code });
    span.end();
  }

  exemplar(span: Span): string | undefined {
    const c = span.spanContext();
    return (c.traceFlags & 1) === 1 ? c.traceId : undefined;
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** The tracing of a config: undefined when off (no SDK object is made at all). */
export function createTracing(cfg: TracingConfig, headers: Readonly<Record<string, string>>, logger: Logger): CheckTracing | undefined {
  if (!cfg.enabled) return undefined;
  const exporter = new OTLPTraceExporter({ url: cfg.endpoint, headers: { ...headers }, timeoutMillis: cfg.export_timeout_ms });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': cfg.service_name }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(cfg.sample_ratio) }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: cfg.batch_delay_ms })],
  });
  logger.info({ endpoint: cfg.endpoint, sample_ratio: cfg.sample_ratio }, 'tracing: exporting check spans over OTLP/HTTP');
  return new OtelCheckTracing(provider.getTracer('ascend-sidecar'), provider);
}
