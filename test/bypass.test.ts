/**
 * The bypass suite: request spellings that have fooled authorizers before (path tricks,
 * encodings, host spellings, method tricks, repeated query keys, identity look-alikes,
 * spoofed decision headers) against a deny-list config whose default is ALLOW — so any
 * trick the sidecar fails to see through shows up as an allow. Every case runs over gRPC
 * (ext_authz) and through a real nginx (auth_request → forward-auth), where it must also
 * never reach the upstream. Control cases that should pass prove the harness can fail.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { rawHttp } from './helpers/http.js';
import { freePort, startNginx, type Nginx } from './helpers/nginx.js';
import { describeWith } from './helpers/tools.js';

const DENY_LIST = `
default_decision: allow
identity: {sources: [{header: x-agent-id}]}
normalization: {method_override: honor}
agents:
  - {id: billing-agent, type: supervised}
  - {id: crawler, type: autonomous}
routes:
  - match: {path: "/admin/**"}
    action_type: admin.access
    resource: "{path}"
  - match: {methods: [POST], path: "/v1/refunds/{id}"}
    action_type: payments.refund
    resource: "refund/{id}"
    parameters: {amount: "{query.amount}"}
  - match: {methods: [DELETE], path: "/v1/orders/{id}"}
    action_type: orders.delete
    resource: "order/{id}"
policies:
  - {id: deny_admin, priority: 100, conditions: {action_type: admin.access}, action: deny}
  - {id: deny_admin_host, priority: 100, conditions: {request.host: admin.internal}, action: deny}
  - {id: deny_delete, priority: 100, conditions: {action_type: orders.delete}, action: deny}
  - {id: deny_big_refund, priority: 100, conditions: {action_type: payments.refund, parameters.amount: {gt: 1000}}, action: deny}
  - {id: deny_refund_by_others, priority: 90, conditions: {action_type: payments.refund, agent_id: {not_in: [billing-agent]}}, action: deny}
`;

type Via = 'both' | 'grpc' | 'nginx';

interface Case {
  cls: string;
  method?: string;
  target: string;
  host?: string;
  headers?: [string, string][];
  via?: Via;
  /** Control cases are expected to pass; everything else must be blocked. */
  allowed?: boolean;
}

const billing: [string, string][] = [['x-agent-id', 'billing-agent']];
const refund = (query: string): Case => ({ cls: 'repeated query keys / number spellings', method: 'POST', target: `/v1/refunds/r1?${query}`, headers: billing });

const CASES: Case[] = [
  // Controls: the harness must see these through.
  { cls: 'control', target: '/v1/orders/1', allowed: true },
  { cls: 'control', method: 'POST', target: '/v1/refunds/r1?amount=10', headers: billing, allowed: true },
  { cls: 'control', target: '/administrator/x', allowed: true },
  // Dot segments, repeated slashes, percent-decoding.
  { cls: 'baseline', target: '/admin/x' },
  { cls: 'baseline', target: '/admin' },
  { cls: 'slashes', target: '//admin/x' },
  { cls: 'slashes', target: '///admin//x' },
  { cls: 'dot segments', target: '/./admin/x' },
  { cls: 'dot segments', target: '/v1/../admin/x' },
  { cls: 'dot segments', target: '/v1/orders/../../admin/x' },
  { cls: 'dot segments', target: '/admin/./x' },
  { cls: 'dot segments', target: '/ADMIN/../admin/x' },
  { cls: 'percent-decoding', target: '/%61dmin/x' },
  { cls: 'percent-decoding', target: '/%61%64%6D%69%6E/x' },
  { cls: 'percent-decoding', target: '/v1/%2e%2e/admin/x' },
  { cls: 'percent-decoding', target: '/v1/%2E%2E/admin/x' },
  { cls: 'percent-decoding', target: '/v1/.%2e/admin/x' },
  { cls: 'double encoding', target: '/v1/%252e%252e/admin/x' },
  { cls: 'encoded slashes', target: '/admin%2fx' },
  { cls: 'encoded slashes', target: '/v1%2F..%2Fadmin/x' },
  { cls: 'encoded slashes', target: '/v1/orders/%2e%2e%2fadmin' },
  { cls: 'encoded slashes', target: '/admin%252fx' },
  { cls: 'backslashes', target: '/admin\\x' },
  { cls: 'backslashes', target: '/v1\\..\\admin\\x' },
  { cls: 'backslashes', target: '/admin%5cx' },
  { cls: 'matrix params', target: '/admin;jsessionid=1/x' },
  { cls: 'matrix params', target: '/admin;/x' },
  { cls: 'matrix params', target: '/v1/orders;/../../admin/x' },
  { cls: 'fragments', target: '/v1/orders#/../../admin/x' },
  { cls: 'control characters', target: '/admin/x%00' },
  { cls: 'control characters', target: '/v1/orders/1%0d%0a' },
  { cls: 'control characters', target: '/v1/orders/1\u0000', via: 'grpc' },
  { cls: 'control characters', target: '/v1/orders/1\r\nX-Injected: 1', via: 'grpc' },
  { cls: 'invalid UTF-8', target: '/v1/orders/%FF' },
  { cls: 'invalid UTF-8', target: '/admin/%C0%AF/x' },
  { cls: 'query', target: '/admin/x?' },
  { cls: 'query', target: '/admin/x?a=1&b' },
  // Host spellings.
  { cls: 'host', target: '/v1/orders/1', host: 'admin.internal' },
  { cls: 'host', target: '/v1/orders/1', host: 'ADMIN.Internal' },
  { cls: 'host', target: '/v1/orders/1', host: 'admin.internal.' },
  { cls: 'host', target: '/v1/orders/1', host: 'admin.internal:80' },
  { cls: 'host', target: '/v1/orders/1', host: 'Admin.Internal.:80' },
  // Methods.
  { cls: 'methods', method: 'DELETE', target: '/v1/orders/1' },
  { cls: 'methods', method: 'delete', target: '/v1/orders/1' },
  { cls: 'methods', method: 'POST', target: '/v1/orders/1', headers: [['X-HTTP-Method-Override', 'DELETE']] },
  { cls: 'methods', method: 'POST', target: '/v1/orders/1', headers: [['X-Method-Override', 'delete']] },
  { cls: 'methods', method: 'PROPFIND', target: '/v1/orders/1' },
  // Repeated query keys and number spellings.
  refund('amount=5000'),
  refund('amount=5&amount=5000'),
  refund('amount=5000&amount=5'),
  refund('amount=%35000'),
  refund('amount=+5000'),
  refund('amount=5e3'),
  refund('amount=0x1388'),
  refund('amount=5000.00'),
  // Identity.
  { cls: 'identity', method: 'POST', target: '/v1/refunds/r1?amount=10', headers: [['x-agent-id', 'crawler']] },
  { cls: 'identity', method: 'POST', target: '/v1/refunds/r1?amount=10' },
  { cls: 'identity', method: 'POST', target: '/v1/refunds/r1?amount=10', headers: [['x_agent_id', 'billing-agent']] },
  { cls: 'identity', method: 'POST', target: '/v1/refunds/r1?amount=10', headers: [['x-agent', 'billing-agent']] },
  { cls: 'identity', method: 'POST', target: '/v1/refunds/r1?amount=10', headers: [['x-agent-id', 'billing-agent'], ['x-agent-id', 'crawler']] },
  { cls: 'identity', method: 'POST', target: '/v1/refunds/r1?amount=10', headers: [['x-agent-id', 'billing-agent crawler']] },
  // Spoofed decision headers.
  { cls: 'spoofing', target: '/admin/x', headers: [['x-ascend-decision', 'allowed'], ['x-ascend-policy-id', 'none']] },
];

const label = (c: Case) => `${c.cls}: ${c.method ?? 'GET'} ${JSON.stringify(c.target)}${c.host ? ` host=${c.host}` : ''}${c.headers ? ` ${c.headers.map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`;

describe('bypass suite', () => {
  it('has at least 40 cases that must be blocked', () => {
    expect(CASES.filter((c) => !c.allowed).length).toBeGreaterThanOrEqual(40);
  });

  describe('over gRPC (ext_authz)', () => {
    let t: TestApp;
    let c: AuthzClient;
    beforeAll(async () => {
      t = await startApp(DENY_LIST);
      c = new AuthzClient(t.grpcPort);
    });
    afterAll(async () => {
      c.close();
      await t.close();
    });

    it.each(CASES.filter((k) => k.via !== 'nginx').map((k) => [label(k), k] as const))('%s', async (_name, k) => {
      // Envoy joins repeated headers with "," in CheckRequest.attributes.request.http.headers.
      const headers: Record<string, string> = {};
      for (const [name, v] of k.headers ?? []) {
        const n = name.toLowerCase();
        headers[n] = headers[n] === undefined ? v : `${headers[n]},${v}`;
      }
      const r = await c.check({ method: k.method ?? 'GET', path: k.target, host: k.host ?? 'api.internal', headers });
      expect(decisionOf(r)).toBe(k.allowed ? 'allowed' : 'denied');
    });
  });

  describeWith('nginx', 'through a real nginx (auth_request → forward-auth)', () => {
    let t: TestApp;
    let nginx: Nginx;
    let upstream: Server;
    let port: number;
    const reached = new Set<string>();

    beforeAll(async () => {
      t = await startApp(DENY_LIST);
      upstream = createServer((req, res) => {
        reached.add(String(req.headers['x-case']));
        res.writeHead(200).end('upstream\n');
      });
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
      const upstreamPort = (upstream.address() as { port: number }).port;
      port = await freePort();
      const endpoint = fileURLToPath(new URL('../deploy/nginx/ascend-auth-endpoint.conf', import.meta.url));
      const protect = fileURLToPath(new URL('../deploy/nginx/ascend-protect.conf', import.meta.url));
      readFileSync(endpoint); // fail early with a clear error if the snippet moved
      nginx = await startNginx(
        () => `
    upstream ascend_sidecar { server 127.0.0.1:${t.httpPort}; }
    upstream app { server 127.0.0.1:${upstreamPort}; }
    server {
        listen 127.0.0.1:${port};
        merge_slashes off;
        include ${endpoint};
        location / {
            include ${protect};
            proxy_set_header Host $host;
            proxy_set_header X-Case $http_x_case;
            proxy_pass http://app;
        }
    }`,
        [port],
      );
    });
    afterAll(async () => {
      await nginx?.stop();
      upstream?.close();
      await t?.close();
    });

    it.each(CASES.filter((k) => k.via !== 'grpc').map((k, i) => [label(k), k, i] as const))('%s', async (_name, k, i) => {
      const id = `case-${i}`;
      const lines = [`${k.method ?? 'GET'} ${k.target} HTTP/1.1`, `Host: ${k.host ?? 'api.internal'}`, `X-Case: ${id}`, 'Connection: close'];
      for (const [name, v] of k.headers ?? []) lines.push(`${name}: ${v}`);
      if ((k.method ?? 'GET').toUpperCase() === 'POST') lines.push('Content-Length: 0');
      const res = await rawHttp(port, `${lines.join('\r\n')}\r\n\r\n`);
      if (k.allowed) {
        expect(res.status).toBe(200);
        expect(reached.has(id)).toBe(true);
      } else {
        // nginx itself may refuse the request (400) before asking; either way it never passes.
        expect(res.status, res.text.split('\r\n')[0]).not.toBe(200);
        expect([400, 403, 405, 500]).toContain(res.status);
        expect(reached.has(id)).toBe(false);
      }
    });
  });
});
