/**
 * nginx and gateway_access.token, with a real nginx: the auth endpoint from deploy/nginx plus
 * the one line docs/gateways.md gives (`proxy_set_header X-Ascend-Gateway-Token ...`) lets
 * requests through; the same endpoint without it gets the sidecar's 401, which nginx's
 * auth_request passes to the client (fail closed), and the upstream is never called.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { rawRequest } from './helpers/http.js';
import { freePort, protectedServer, startNginx, type Nginx } from './helpers/nginx.js';
import { describeWith } from './helpers/tools.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const ENDPOINT_CONF = readFileSync(fileURLToPath(new URL('../deploy/nginx/ascend-auth-endpoint.conf', import.meta.url)), 'utf8');
const PROTECT_CONF = fileURLToPath(new URL('../deploy/nginx/ascend-protect.conf', import.meta.url));
const TOKEN = 'nginx-gw-token-5e1d';

describeWith('nginx', 'nginx auth_request with gateway_access.token (real nginx)', () => {
  let sidecar: TestApp;
  let upstream: Server;
  let nginx: Nginx;
  let withToken: number;
  let withoutToken: number;
  let upstreamCalls = 0;

  beforeAll(async () => {
    sidecar = await startApp(`${CORE}\ngateway_access: {token: ${TOKEN}}\n`);
    upstream = createServer((_req, res) => {
      upstreamCalls++;
      res.end('upstream says hi\n');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const appPort = (upstream.address() as { port: number }).port;
    [withToken, withoutToken] = [await freePort(), await freePort()];
    nginx = await startNginx((dir) => {
      const tokenConf = join(dir, 'ascend-auth-endpoint-token.conf');
      const line = '    proxy_set_header Connection "";\n';
      expect(ENDPOINT_CONF).toContain(line);
      writeFileSync(tokenConf, ENDPOINT_CONF.replace(line, `${line}    proxy_set_header X-Ascend-Gateway-Token "${TOKEN}";\n`));
      const server = (listen: number, endpoint: string) => protectedServer(listen, { endpoint, protect: PROTECT_CONF });
      const plain = join(dir, 'ascend-auth-endpoint.conf');
      writeFileSync(plain, ENDPOINT_CONF);
      return `
    upstream ascend_sidecar { server 127.0.0.1:${sidecar.httpPort}; }
    upstream app { server 127.0.0.1:${appPort}; }
${server(withToken, tokenConf)}
${server(withoutToken, plain)}`;
    }, [withToken, withoutToken]);
  });

  afterAll(async () => {
    await nginx?.stop();
    upstream?.close();
    await sidecar?.close();
  });

  const get = (port: number) => rawRequest(port, { path: '/v1/orders/o-1', headers: { host: 'api.example.com', 'x-agent-id': 'crawler' } });

  it('with the proxy_set_header line: decided and allowed', async () => {
    const r = await get(withToken);
    expect([r.status, r.body]).toEqual([200, 'upstream says hi\n']);
    expect(upstreamCalls).toBe(1);
    expect(sidecar.decisions()).toHaveLength(1);
  });

  it('without it: the sidecar answers 401, nginx passes it on, the upstream is not called', async () => {
    const r = await get(withoutToken);
    expect(r.status).toBe(401);
    expect(upstreamCalls).toBe(1);
    expect(sidecar.decisions()).toHaveLength(1);
  });
});
