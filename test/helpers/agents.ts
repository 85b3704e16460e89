/**
 * Agent-registry test kit: the quickstart config plus a tools route and a capability policy,
 * an agent key for an agent the config does not declare, and one client per entry point
 * (Envoy gRPC, Kong, Kong OPA, forward-auth, the REST API) that reports decision, code and
 * the HTTP status a gateway would answer.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { call, KEYS } from './api.js';
import type { TestApp } from './app.js';
import { AuthzClient, header } from './grpc-client.js';
import { postJson, rawRequest } from './http.js';

const CORE = readFileSync(new URL('../../examples/quickstart.yaml', import.meta.url), 'utf8');

/** Quickstart + `POST /v1/tools/{tool}` (tools.run) allowed for agents with the `shell` capability. */
export const AGENTS_CONFIG = `${CORE.replace('routes:\n', `routes:
  - match: {methods: [POST], path: "/v1/tools/{tool}"}
    action_type: tools.run
    resource: "tool/{tool}"
`)}
  - {id: pol_shell, name: Agents with the shell capability run tools, priority: 60,
     conditions: {action_type: tools.run, agent.capabilities: shell}, action: allow}
`;

export const SDK_KEY = 'k-sdk-agent-424242';
/** An agent key for `sdk-agent` (not in the config), to append to API_KEYS_YAML. */
export const SDK_KEY_YAML = `  - {name: sdk, role: agent, agent_id: sdk-agent, sha256: "${createHash('sha256').update(SDK_KEY).digest('hex')}"}\n`;
export const AGENT_KEYS = { ...KEYS, sdk: SDK_KEY } as const;

export interface Outcome {
  decision: string | undefined;
  code: string | undefined;
  /** What the gateway answers the client (200 when allowed); the API's HTTP status (200 for every decision). */
  status: number;
}

export type Entry = 'grpc' | 'kong' | 'kong_opa' | 'forward_auth' | 'api';
export const ENTRIES: readonly Entry[] = ['grpc', 'kong', 'kong_opa', 'forward_auth', 'api'];

const HOST = 'api.example.com';
/** envoy.type.v3.StatusCode names (the client decodes enums as strings). */
const HTTP_STATUS: Readonly<Record<string, number>> = { Forbidden: 403, Unauthorized: 401, BadRequest: 400 };
const codeOf = (body: string | null | undefined): string | undefined => (body ? (JSON.parse(body) as { code?: string }).code : undefined);

/** A request by `agent` to `POST {path}` through each entry point (the API as the agent's admin-evaluated action). */
export function entryPoints(t: TestApp, grpc: AuthzClient) {
  return async (entry: Entry, agent: string, path: string, action: { action_type: string; resource: string; parameters?: Record<string, unknown> }): Promise<Outcome> => {
    const headers = { 'x-agent-id': agent };
    const [p, query = ''] = path.split('?');
    switch (entry) {
      case 'grpc': {
        const res = await grpc.check({ method: 'POST', path, host: HOST, headers });
        const allowed = res.status.code === 0;
        const status = allowed ? 200 : HTTP_STATUS[res.denied_response?.status?.code ?? ''] ?? 0;
        return { decision: header(res, 'x-ascend-decision'), code: allowed ? undefined : codeOf(res.denied_response?.body), status };
      }
      case 'kong': {
        const r = await postJson(t.url('/kong/v1/authorize'), { request: { method: 'POST', scheme: 'https', host: HOST, port: 443, path: p, raw_query: query, headers: { host: HOST, ...headers } }, client_ip: '10.0.0.7' });
        return { decision: r.json.decision, code: codeOf(r.json.body), status: r.json.status };
      }
      case 'kong_opa': {
        const querystring = Object.fromEntries(new URLSearchParams(query));
        const r = await postJson(t.url('/v1/data/ascend/allow'), { input: { request: { http: { method: 'POST', scheme: 'https', host: HOST, port: 443, path: p, querystring, headers: { host: HOST, ...headers }, tls: {} } }, client_ip: '10.0.0.7' } });
        const m = r.json.result.message;
        return { decision: r.json.result.headers['x-ascend-decision'], code: typeof m === 'object' ? m.code : undefined, status: r.json.result.status };
      }
      case 'forward_auth': {
        const r = await rawRequest(t.httpPort, { path: '/forward-auth', headers: { ...headers, 'x-original-uri': path, 'x-original-method': 'POST', 'x-original-host': HOST } });
        return { decision: r.headers['x-ascend-decision'] as string, code: r.status === 200 ? undefined : codeOf(r.body), status: r.status };
      }
      case 'api': {
        const r = await call(t.url(''), 'POST', '/api/authorization/agent-action', KEYS.admin, { agent_id: agent, ...action });
        // A decision is HTTP 200 on the API whatever it says.
        return { decision: r.body.decision, code: r.body.code, status: r.status };
      }
    }
  };
}
