/**
 * OpenTelemetry tracing end to end: the sidecar exports over real OTLP/HTTP to a collector
 * stand-in in this process (a node:http server that decodes each JSON export request the way a
 * collector would), and is asked over real gRPC (ext_authz), real HTTP (forward-auth, REST API)
 * and, for the control-plane span, through a second sidecar as its control plane.
 *   - the gateway's W3C traceparent is continued (same trace id, its span as parent), its
 *     sampled flag followed; without one a check starts its own trace;
 *   - one `ascend.check` span per check with the decision's attributes;
 *   - child spans for the approvals store and the control-plane call;
 *   - the trace ids as exemplars on ascend_authz_check_duration_seconds (OpenMetrics /metrics);
 *   - off (the default): nothing is exported and /metrics stays Prometheus text.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyDigest } from './helpers/api.js';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status?: { code?: number };
  service: string;
}

/** A collector stand-in: OTLP/HTTP JSON (POST /v1/traces), decoded into flat spans. */
class OtlpReceiver {
  readonly spans: OtlpSpan[] = [];
  requests = 0;
  /** The headers of the last export request. */
  headers: Record<string, string | string[] | undefined> = {};
  private readonly server: Server;
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        this.requests++;
        this.headers = req.headers;
        if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
          res.statusCode = 400;
          res.end();
          return;
        }
        this.decode(JSON.parse(Buffer.concat(parts).toString('utf8')));
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    });
  }

  private decode(body: any): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = attrs(rs.resource?.attributes)['service.name'] as string;
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind, attributes: attrs(s.attributes), status: s.status, service });
        }
      }
    }
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.port = (this.server.address() as { port: number }).port;
      resolve();
    }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The check span whose action id is `actionId`. */
  check(actionId: string): OtlpSpan | undefined {
    return this.spans.find((s) => s.name === 'ascend.check' && s.attributes['ascend.action_id'] === actionId);
  }
}

function attrs(list: { key: string; value: Record<string, unknown> }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? value.intValue;
    out[key] = typeof v === 'string' && value.intValue !== undefined ? Number(v) : v;
  }
  return out;
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

const POLICIES = `
default_decision: deny
identity: {sources: [{header: x-agent-id}]}
agents:
  - {id: billing-agent, type: supervised}
routes:
  - match: {methods: [POST], path: "/v1/refunds/{refund_id}"}
    action_type: payments.refund
    resource: "refund/{refund_id}"
    parameters: {amount: "{query.amount}"}
  - match: {methods: [GET], path: "/v1/orders/**"}
    action_type: orders.read
    resource: orders
policies:
  - {id: pol_refund_large, priority: 80, conditions: {action_type: payments.refund, parameters.amount: {gt: 1000}},
     action: require_approval, approvers: [finance-manager]}
  - {id: pol_orders_read, priority: 10, conditions: {action_type: orders.read}, action: allow}
`;

const tracingYaml = (port: number, extra = '') => `tracing: {enabled: true, endpoint: "http://127.0.0.1:${port}/v1/traces", service_name: ascend-test, batch_delay_ms: 50${extra}}\n`;

describe('tracing on', () => {
  const dir = tempDir('ascend-tracing-');
  const otlp = new OtlpReceiver();
  let t: TestApp;
  let grpc: AuthzClient;

  beforeAll(async () => {
    await otlp.listen();
    process.env.ASCEND_TEST_OTLP_TOKEN = 'Bearer collector-token-1';
    t = await startApp(`${tracingYaml(otlp.port, ', headers: {authorization: {env: ASCEND_TEST_OTLP_TOKEN}}')}store: {path: ${JSON.stringify(join(dir, 'a.db'))}}\n${POLICIES}`);
    grpc = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    grpc.close();
    await t.close();
    await otlp.close();
    delete process.env.ASCEND_TEST_OTLP_TOKEN;
  });

  const actionIdOf = (res: { ok_response?: any; denied_response?: any }): string =>
    ((res.ok_response ?? res.denied_response).headers as { header: { key: string; value: string } }[]).find((h) => h.header.key === 'x-ascend-action-id')!.header.value;

  it('an Envoy check continues the gateway\'s traceparent, with the decision\'s attributes', async () => {
    const res = await grpc.check({ path: '/v1/orders/7', headers: { 'x-agent-id': 'billing-agent', traceparent: `00-${TRACE}-${PARENT}-01` } });
    expect(decisionOf(res)).toBe('allowed');
    const span = await waitFor(() => otlp.check(actionIdOf(res)), { what: 'the check span' });
    expect(span).toMatchObject({ traceId: TRACE, parentSpanId: PARENT, kind: 2, service: 'ascend-test' });
    // tracing.headers, its value read from the environment ({env: NAME}).
    expect(otlp.headers.authorization).toBe('Bearer collector-token-1');
    expect(span.attributes).toMatchObject({
      'ascend.adapter': 'envoy', 'ascend.decision': 'allowed', 'ascend.policy_id': 'pol_orders_read', 'ascend.agent_id': 'billing-agent',
      'ascend.action_type': 'orders.read', 'ascend.resource': 'orders', 'ascend.cache_hit': false, 'http.request.method': 'GET', 'url.path': '/v1/orders/7',
    });
    expect(typeof span.attributes['ascend.risk_score']).toBe('number');
  });

  it('forward-auth: the same; without a traceparent a check starts its own trace', async () => {
    const withParent = await fetch(t.url('/forward-auth'), { headers: { 'x-original-uri': '/v1/orders/8', 'x-agent-id': 'billing-agent', traceparent: `00-${TRACE}-${PARENT}-01` } });
    const alone = await fetch(t.url('/forward-auth'), { headers: { 'x-original-uri': '/v1/orders/9', 'x-agent-id': 'billing-agent' } });
    const a = await waitFor(() => otlp.check(withParent.headers.get('x-ascend-action-id')!));
    const b = await waitFor(() => otlp.check(alone.headers.get('x-ascend-action-id')!));
    expect([a.traceId, a.parentSpanId, a.attributes['ascend.adapter']]).toEqual([TRACE, PARENT, 'forward_auth']);
    expect(b.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(b.traceId).not.toBe(TRACE);
    expect(b.parentSpanId).toBeUndefined();
  });

  it('a gateway that did not sample its trace: the check is not recorded either', async () => {
    const trace = 'aaaabbbbccccddddeeeeffff00001111';
    const r = await fetch(t.url('/forward-auth'), { headers: { 'x-original-uri': '/v1/orders/10', 'x-agent-id': 'billing-agent', traceparent: `00-${trace}-${PARENT}-00` } });
    expect(r.status).toBe(200);
    // A later sampled check proves the exporter has run since.
    const later = await fetch(t.url('/forward-auth'), { headers: { 'x-original-uri': '/v1/orders/11', 'x-agent-id': 'billing-agent' } });
    await waitFor(() => otlp.check(later.headers.get('x-ascend-action-id')!));
    expect(otlp.spans.filter((s) => s.traceId === trace)).toEqual([]);
  });

  it('a pending check has a child span for the approvals store', async () => {
    const res = await grpc.check({ method: 'POST', path: '/v1/refunds/r1?amount=5000', headers: { 'x-agent-id': 'billing-agent', traceparent: `00-${TRACE}-${PARENT}-01` } });
    expect(decisionOf(res)).toBe('pending');
    const span = await waitFor(() => otlp.check(actionIdOf(res)));
    expect(span.attributes).toMatchObject({ 'ascend.decision': 'pending', 'ascend.policy_id': 'pol_refund_large' });
    expect(span.attributes['ascend.approval_id']).toMatch(/^apr_/);
    const store = await waitFor(() => otlp.spans.find((s) => s.name === 'ascend.store.approval' && s.parentSpanId === span.spanId));
    expect([store.traceId, store.kind]).toEqual([TRACE, 3]);
  });

  it('trace ids are exemplars on the check-duration histogram (OpenMetrics), and plain /metrics is unchanged', async () => {
    const om = await fetch(t.url('/metrics'), { headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
    expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    const text = await om.text();
    const lines = text.split('\n').filter((l) => l.startsWith('ascend_authz_check_duration_seconds_bucket{') && l.includes(' # {trace_id="'));
    expect(lines.length).toBeGreaterThan(0);
    const traces = new Set(otlp.spans.map((s) => s.traceId));
    for (const l of lines) expect(traces.has(/trace_id="([0-9a-f]{32})"/.exec(l)![1]!), l).toBe(true);
    expect(text).toContain('# TYPE ascend_authz_decisions counter');
    expect(text).toMatch(/^ascend_authz_decisions_total\{/m);
    expect(text.endsWith('# EOF\n')).toBe(true);

    const plain = await fetch(t.url('/metrics'));
    expect(plain.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await plain.text();
    expect(body).not.toContain('trace_id');
    expect(body).toContain('# TYPE ascend_authz_decisions_total counter');
  });
});

describe('tracing through a control plane', () => {
  const dir = tempDir('ascend-tracing-cp-');
  const otlp = new OtlpReceiver();
  let cp: TestApp;
  let edge: TestApp;

  beforeAll(async () => {
    await otlp.listen();
    cp = await startApp(`store: {path: ${JSON.stringify(join(dir, 'cp.db'))}}\napi_keys: [{name: edge, role: gateway, sha256: "${keyDigest('k-edge-1')}"}]\n${POLICIES}`);
    process.env.ASCEND_TEST_EDGE_KEY = 'k-edge-1';
    edge = await startApp(`${tracingYaml(otlp.port)}evaluator: {mode: remote, url: "http://127.0.0.1:${cp.httpPort}", api_key: {env: ASCEND_TEST_EDGE_KEY}, timeout_ms: 2000}\n${POLICIES.replace(/policies:[\s\S]*$/, '')}`);
  });
  afterAll(async () => {
    await edge.close();
    await cp.close();
    await otlp.close();
    delete process.env.ASCEND_TEST_EDGE_KEY;
  });

  it('the control-plane call is a child span of the check', async () => {
    const r = await fetch(edge.url('/forward-auth'), { headers: { 'x-original-uri': '/v1/orders/1', 'x-agent-id': 'billing-agent', traceparent: `00-${TRACE}-${PARENT}-01` } });
    expect(r.headers.get('x-ascend-decision')).toBe('allowed');
    const check = await waitFor(() => otlp.check(r.headers.get('x-ascend-action-id')!));
    const call = await waitFor(() => otlp.spans.find((s) => s.name === 'ascend.control_plane.decide' && s.parentSpanId === check.spanId));
    expect(call).toMatchObject({ traceId: TRACE, kind: 3 });
    expect(call.attributes['ascend.decision']).toBe('allowed');
  });
});

describe('tracing off (the default)', () => {
  const otlp = new OtlpReceiver();
  let t: TestApp;

  beforeAll(async () => {
    await otlp.listen();
    // The endpoint is set but tracing is not enabled: nothing may reach it.
    t = await startApp(`tracing: {endpoint: "http://127.0.0.1:${otlp.port}/v1/traces", batch_delay_ms: 10}\n${POLICIES}`);
  });
  afterAll(async () => {
    await t.close();
    await otlp.close();
  });

  it('exports nothing, and /metrics answers Prometheus text even to an OpenMetrics scraper', async () => {
    await fetch(t.url('/forward-auth'), { headers: { 'x-original-uri': '/v1/orders/1', 'x-agent-id': 'billing-agent', traceparent: `00-${TRACE}-${PARENT}-01` } });
    const m = await fetch(t.url('/metrics'), { headers: { accept: 'application/openmetrics-text;version=1.0.0' } });
    expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await m.text()).not.toContain('# EOF');
    await t.close();
    expect(otlp.requests).toBe(0);
  });
});
