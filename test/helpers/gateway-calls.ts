/**
 * One call to each HTTP gateway endpoint, as its gateway makes it, for the `gateway_access`
 * tests: every one asks about a large refund (amount 5000), which the core config
 * (examples/quickstart.yaml) sends for approval — so a call that is evaluated leaves a
 * decision-log line and, with a store, a pending approval behind.
 */
import { readFileSync } from 'node:fs';
import { rawRequest, type RawResponse } from './http.js';

const CASES = JSON.parse(readFileSync(new URL('../fixtures/kong/plugin-requests.json', import.meta.url), 'utf8')) as { name: string; expected_request: unknown }[];
const KONG_PENDING = CASES.find((c) => c.name === 'refund-large-needs-approval')!.expected_request;

const OPA_PENDING = {
  input: {
    request: { http: { method: 'POST', scheme: 'http', host: 'api.example.com', port: 8000, path: '/v1/refunds/r-77',
      headers: { 'x-agent-id': 'billing-agent' }, querystring: { amount: '5000' } } },
    client_ip: '10.1.0.7',
  },
};

const JSON_HEADERS = { 'content-type': 'application/json' };
const AGENT = { 'x-agent-id': 'billing-agent', host: 'api.example.com' };

export interface GatewayCall {
  name: string;
  adapter: 'kong' | 'kong_opa' | 'forward_auth';
  /** Evaluated: leaves a decision-log line (all but the completion). */
  decides: boolean;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** What the answer says was decided: `pending` for the checks, `completed` for the completion. */
  outcome(r: RawResponse): string | undefined;
}

const json = (r: RawResponse): any => {
  try {
    return JSON.parse(r.body);
  } catch {
    return undefined;
  }
};

const forwardAuthOutcome = (r: RawResponse) => r.headers['x-ascend-decision'] as string | undefined;

export const GATEWAY_CALLS: readonly GatewayCall[] = [
  {
    name: 'Kong POST /kong/v1/authorize', adapter: 'kong', decides: true, method: 'POST', path: '/kong/v1/authorize', headers: JSON_HEADERS,
    body: JSON.stringify(KONG_PENDING), outcome: (r) => (r.status === 200 ? json(r)?.decision : undefined),
  },
  {
    name: 'Kong POST /kong/v1/complete', adapter: 'kong', decides: false, method: 'POST', path: '/kong/v1/complete', headers: JSON_HEADERS,
    body: JSON.stringify({ action_id: 'act-someone-else', upstream_status: 200 }), outcome: (r) => (r.status === 204 ? 'completed' : undefined),
  },
  {
    name: 'Kong opa POST /v1/data/ascend/allow', adapter: 'kong_opa', decides: true, method: 'POST', path: '/v1/data/ascend/allow', headers: JSON_HEADERS,
    body: JSON.stringify(OPA_PENDING), outcome: (r) => (r.status === 200 ? json(r)?.result?.headers?.['x-ascend-decision'] : undefined),
  },
  {
    name: 'forward-auth GET /forward-auth (nginx)', adapter: 'forward_auth', decides: true, method: 'GET', path: '/forward-auth',
    headers: { ...AGENT, 'x-original-uri': '/v1/refunds/r-78?amount=5000', 'x-original-method': 'POST' }, outcome: forwardAuthOutcome,
  },
  {
    name: 'forward-auth POST /forward-auth/<path> (Envoy http_service)', adapter: 'forward_auth', decides: true, method: 'POST',
    path: '/forward-auth/v1/refunds/r-79?amount=5000', headers: AGENT, outcome: forwardAuthOutcome,
  },
];

/** What a call that got through should have answered. */
export const expectedOutcome = (c: GatewayCall): string => (c.decides ? 'pending' : 'completed');

export interface CallOptions {
  /** Extra request headers (the gateway token, forwarding headers). */
  headers?: Record<string, string>;
  /** Bind the client socket to this local address (a peer other than 127.0.0.1). */
  localAddress?: string;
  host?: string;
}

export function callGateway(port: number, c: GatewayCall, opts: CallOptions = {}): Promise<RawResponse> {
  return rawRequest(port, {
    method: c.method, path: c.path, headers: { ...c.headers, ...opts.headers }, body: c.body, localAddress: opts.localAddress, host: opts.host,
  });
}
