/**
 * TLS and mTLS on the listeners, with real TLS clients (node:https, node:http2, grpc-js) and a
 * CA and certificates made by openssl in the test: server-only TLS, mTLS required and optional,
 * the client certificate as the `principal` identity source (`from: connection`), certificate
 * rotation that keeps open connections, a broken rotation that keeps the old certificate, and
 * API keys refused on a plain-text connection from another host.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import https from 'node:https';
import { networkInterfaces } from 'node:os';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeFromText } from '../src/config/runtime.js';
import { ConfigError } from '../src/config/errors.js';
import { startApp, type TestApp } from './helpers/app.js';
import { KEYS, API_KEYS_YAML } from './helpers/api.js';
import { TestPki, type Issued } from './helpers/certs.js';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { CHECK_PATH, checkRequestBytes, frame } from './helpers/h2.js';
import { tempDir } from './helpers/tmp.js';
import { describeWith } from './helpers/tools.js';
import { waitFor } from './helpers/wait.js';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  /** The certificate the server presented on this request's connection. */
  serverCn: string;
  /** The local port of the connection (same port: same connection). */
  localPort: number;
}

function get(port: number, path: string, opts: https.RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, servername: 'localhost', ...opts }, (res) => {
      const socket = res.socket as TLSSocket;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, serverCn: String(socket.getPeerCertificate().subject?.CN), localPort: socket.localPort ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One gRPC Check on an open HTTP/2 session: the decision header's value. */
function h2Check(session: ClientHttp2Session, path = '/v1/orders/1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': CHECK_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(parts).includes(Buffer.from('x-ascend-decision')) ? 'answered' : 'empty'));
    stream.end(frame(checkRequestBytes({ path })));
  });
}

function cnOf(pem: string | Buffer): string {
  return /CN=([^\n,]+)/.exec(new X509Certificate(pem).subject)?.[1] ?? '';
}

const BASE = `
default_decision: allow
identity:
  sources:
    - principal: {from: connection, trim_prefix: "spiffe://corp/ns/agents/sa/"}
    - principal: {from: connection}
`;

describeWith('openssl', 'TLS and mTLS on the listeners', () => {
  const dir = tempDir('ascend-tls-');
  let pki: TestPki;
  let rogue: TestPki;
  let server: Issued;
  let spiffe: Issued;
  let cnOnly: Issued;
  let stranger: Issued;

  beforeAll(() => {
    pki = new TestPki(dir);
    rogue = new TestPki(dir, 'rogue');
    server = pki.server('server', 'sidecar-one');
    spiffe = pki.issue('agent7', { cn: 'ignored-cn', san: 'URI:spiffe://corp/ns/agents/sa/agent-7', usage: 'clientAuth' });
    cnOnly = pki.issue('agentcn', { cn: 'agent-cn', usage: 'clientAuth' });
    stranger = rogue.issue('stranger', { cn: 'agent-7', usage: 'clientAuth' });
  });

  const client = (c: Issued | undefined) => ({ ca: pki.caPem, ...(c === undefined ? {} : { cert: c.certPem, key: c.keyPem }) });

  describe('server TLS without client certificates', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp(`server: {tls: {cert_file: ${JSON.stringify(server.cert)}, key_file: ${JSON.stringify(server.key)}}}\n${BASE}`);
    });
    afterAll(() => t.close());

    it('serves HTTPS with the configured certificate; plain HTTP gets no answer', async () => {
      const r = await get(t.httpPort, '/healthz', client(undefined));
      expect(r.status).toBe(200);
      expect(r.serverCn).toBe('sidecar-one');
      await expect(fetch(`http://127.0.0.1:${t.httpPort}/healthz`)).rejects.toThrow();
    });

    it('a client that does not trust the CA is refused by its own check', async () => {
      await expect(get(t.httpPort, '/healthz', { ca: rogue.caPem })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    });

    it('gRPC over TLS with ALPN h2, from a real grpc-js client', async () => {
      const c = new AuthzClient(t.grpcPort, { credentials: grpc.credentials.createSsl(Buffer.from(pki.caPem)), options: { 'grpc.ssl_target_name_override': 'localhost' } });
      try {
        expect(decisionOf(await c.check({ path: '/v1/orders/1' }))).toBe('allowed');
      } finally {
        c.close();
      }
      const socket = tlsConnect({ host: '127.0.0.1', port: t.grpcPort, ca: pki.caPem, servername: 'localhost', ALPNProtocols: ['h2'] });
      await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      expect(socket.alpnProtocol).toBe('h2');
      socket.destroy();
    });

    it('without a CA no client certificate is asked for: the connection principal stays unknown', async () => {
      const r = await get(t.httpPort, '/forward-auth', { ...client(spiffe), headers: { 'x-original-uri': '/v1/orders/1', 'x-original-method': 'GET' } });
      expect(r.status).toBe(200);
      const line = t.decisions().find((l) => l.action_id === r.headers['x-ascend-action-id']);
      expect(line?.agent_id).toBeNull();
    });
  });

  describe.each(['h2', 'native', 'grpc-js'] as const)('mTLS required (grpc_transport %s)', (transport) => {
    let t: TestApp;
    beforeAll(async () => {
      const tls = `{cert_file: ${JSON.stringify(server.cert)}, key_file: ${JSON.stringify(server.key)}, client_ca_file: ${JSON.stringify(pki.caFile)}, require_client_cert: true}`;
      t = await startApp(`server: {grpc_transport: ${transport}, tls: ${tls}}\n${BASE}`);
    });
    afterAll(() => t.close());

    it('HTTP: a verified client certificate connects, none or a stranger CA\'s is refused in the handshake', async () => {
      expect((await get(t.httpPort, '/healthz', client(spiffe))).status).toBe(200);
      await expect(get(t.httpPort, '/healthz', client(undefined))).rejects.toThrow();
      await expect(get(t.httpPort, '/healthz', { ca: pki.caPem, cert: stranger.certPem, key: stranger.keyPem })).rejects.toThrow();
    });

    it('gRPC: the same, with grpc-js as the client', async () => {
      const ok = new AuthzClient(t.grpcPort, {
        ownConnection: true,
        credentials: grpc.credentials.createSsl(Buffer.from(pki.caPem), Buffer.from(cnOnly.keyPem), Buffer.from(cnOnly.certPem)),
        options: { 'grpc.ssl_target_name_override': 'localhost' },
      });
      const none = new AuthzClient(t.grpcPort, { ownConnection: true, credentials: grpc.credentials.createSsl(Buffer.from(pki.caPem)), options: { 'grpc.ssl_target_name_override': 'localhost' } });
      try {
        expect(decisionOf(await ok.check({ path: '/v1/orders/1' }))).toBe('allowed');
        await expect(none.check({ path: '/v1/orders/1' }, { deadline: Date.now() + 3000 })).rejects.toMatchObject({ code: expect.any(Number) });
      } finally {
        ok.close();
        none.close();
      }
    });

    it('the SPIFFE URI SAN, else the subject CN, is the principal of `from: connection`', async () => {
      const fa = { 'x-original-uri': '/v1/orders/1', 'x-original-method': 'GET' };
      const a = await get(t.httpPort, '/forward-auth', { ...client(spiffe), headers: fa });
      const b = await get(t.httpPort, '/forward-auth', { ...client(cnOnly), headers: fa });
      const agent = (r: Answer) => t.decisions().find((l) => l.action_id === r.headers['x-ascend-action-id'])?.agent_id;
      expect(agent(a)).toBe('agent-7');
      expect(agent(b)).toBe('agent-cn');
    });
  });

  describe('mTLS optional', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp(`server: {tls: {cert_file: ${JSON.stringify(server.cert)}, key_file: ${JSON.stringify(server.key)}, client_ca_file: ${JSON.stringify(pki.caFile)}}}\n${BASE}`);
    });
    afterAll(() => t.close());

    it('a client without a certificate connects and has no principal; one with a verified certificate has its own', async () => {
      const fa = { 'x-original-uri': '/v1/orders/1', 'x-original-method': 'GET' };
      const none = await get(t.httpPort, '/forward-auth', { ...client(undefined), headers: fa });
      const mine = await get(t.httpPort, '/forward-auth', { ...client(spiffe), headers: fa });
      const agent = (r: Answer) => t.decisions().find((l) => l.action_id === r.headers['x-ascend-action-id'])?.agent_id;
      expect(none.status).toBe(200);
      expect(agent(none)).toBeNull();
      expect(agent(mine)).toBe('agent-7');
    });

    it('a certificate from a CA the listener does not trust connects but identifies nobody', async () => {
      const r = await get(t.httpPort, '/forward-auth', { ca: pki.caPem, cert: stranger.certPem, key: stranger.keyPem, headers: { 'x-original-uri': '/v1/orders/1' } });
      expect(r.status).toBe(200);
      expect(t.decisions().find((l) => l.action_id === r.headers['x-ascend-action-id'])?.agent_id).toBeNull();
    });
  });

  describe.each(['h2', 'native', 'grpc-js'] as const)('rotation (grpc_transport %s)', (transport) => {
    let t: TestApp;
    const live = { cert: '', key: '' };
    beforeAll(async () => {
      live.cert = `${dir}/live-${transport}.crt`;
      live.key = `${dir}/live-${transport}.key`;
      copyFileSync(server.cert, live.cert);
      copyFileSync(server.key, live.key);
      t = await startApp(`server: {grpc_transport: ${transport}, tls: {cert_file: ${JSON.stringify(live.cert)}, key_file: ${JSON.stringify(live.key)}, reload_interval_ms: 100}}\n${BASE}`);
    });
    afterAll(() => t.close());

    it('a new certificate is used for new connections; an open HTTP/1.1 and an open HTTP/2 (gRPC) connection keep working', async () => {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: pki.caPem, servername: 'localhost' });
      const session = h2connect(`https://127.0.0.1:${t.grpcPort}`, { ca: pki.caPem, servername: 'localhost' });
      try {
        const before = await get(t.httpPort, '/healthz', { agent });
        expect(before.serverCn).toBe('sidecar-one');
        expect(await h2Check(session)).toBe('answered');

        const next = pki.server(`server2-${transport}`, 'sidecar-two');
        // Key first, then certificate: in between the pair does not match, and is not installed.
        copyFileSync(next.key, live.key);
        copyFileSync(next.cert, live.cert);
        await waitFor(() => t.logs.filter((l) => l.msg === 'TLS certificate reloaded').length >= 2, { timeoutMs: 5000 });

        const same = await get(t.httpPort, '/healthz', { agent });
        expect(same.localPort).toBe(before.localPort);
        expect(same.serverCn).toBe('sidecar-one');
        expect(await h2Check(session)).toBe('answered');
        expect(session.closed || session.destroyed).toBe(false);

        const fresh = await get(t.httpPort, '/healthz', { ca: pki.caPem, agent: false });
        expect(fresh.serverCn).toBe('sidecar-two');
        const grpcFresh = tlsConnect({ host: '127.0.0.1', port: t.grpcPort, ca: pki.caPem, servername: 'localhost', ALPNProtocols: ['h2'] });
        await new Promise((resolve, reject) => grpcFresh.once('secureConnect', resolve).once('error', reject));
        expect(cnOf(grpcFresh.getPeerX509Certificate()!.toString())).toBe('sidecar-two');
        grpcFresh.destroy();
      } finally {
        agent.destroy();
        session.close();
      }
    });

    it('files that do not make a certificate are logged and the current one stays', async () => {
      const refusals = () => t.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('TLS files changed but do not make a valid certificate')).length;
      const before = refusals();
      writeFileSync(live.key, '-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n');
      await waitFor(() => refusals() >= before + 2, { timeoutMs: 5000 });
      const r = await get(t.httpPort, '/healthz', { ca: pki.caPem, agent: false });
      expect(r.status).toBe(200);
      expect(r.serverCn).toBe('sidecar-two');
    });
  });

  describe('per listener', () => {
    it('grpc_tls for the gRPC listener only, http_tls: {enabled: false} keeps HTTP plain', async () => {
      const t = await startApp(`server:\n  tls: {cert_file: ${JSON.stringify(server.cert)}, key_file: ${JSON.stringify(server.key)}}\n  http_tls: {enabled: false}\n${BASE}`);
      try {
        expect((await fetch(t.url('/healthz'))).status).toBe(200);
        const socket = tlsConnect({ host: '127.0.0.1', port: t.grpcPort, ca: pki.caPem, servername: 'localhost', ALPNProtocols: ['h2'] });
        await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
        expect(socket.authorized).toBe(true);
        socket.destroy();
      } finally {
        await t.close();
      }
    });
  });

  describe('config errors name the field', () => {
    const errorsOf = (yaml: string): string[] => {
      try {
        runtimeFromText(yaml, `${dir}/c.yaml`, 1);
      } catch (e) {
        if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
        throw e;
      }
      return [];
    };

    it('require_client_cert without a CA, a missing file, a key that is not the certificate\'s', () => {
      expect(errorsOf(`server: {tls: {cert_file: ${server.cert}, key_file: ${server.key}, require_client_cert: true}}`).join('\n')).toMatch(/server\.tls\.client_ca_file: is required with require_client_cert/);
      expect(errorsOf(`server: {grpc_tls: {cert_file: ${dir}/nope.crt, key_file: ${server.key}}}`).join('\n')).toMatch(/server\.grpc_tls\.cert_file: cannot read .*nope\.crt: file not found/);
      expect(errorsOf(`server: {http_tls: {cert_file: ${server.cert}, key_file: ${spiffe.key}}}`).join('\n')).toMatch(/server\.http_tls: cert_file, key_file and client_ca_file do not make a TLS context/);
      expect(errorsOf(`server: {tls: {key_file: ${server.key}}}`).join('\n')).toMatch(/server\.tls\.cert_file: is required when TLS is enabled/);
    });
  });

  describe('API keys and plain text', () => {
    // A non-loopback address of this machine: connecting to it makes the peer non-loopback.
    const external = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4')?.address;
    const keyed = (url: string) => fetch(url, { headers: { 'x-api-key': KEYS.admin } });

    it.skipIf(external === undefined)('refused 403 plaintext_not_allowed from another host over plain HTTP; allowed over TLS, from loopback, or with api.allow_plaintext', async () => {
      const plain = await startApp(`${API_KEYS_YAML}\n${BASE}`, { host: '0.0.0.0' });
      const allowed = await startApp(`${API_KEYS_YAML}api: {allow_plaintext: true}\n${BASE}`, { host: '0.0.0.0' });
      const secure = await startApp(`${API_KEYS_YAML}server: {tls: {cert_file: ${JSON.stringify(server.cert)}, key_file: ${JSON.stringify(server.key)}}}\n${BASE}`, { host: '0.0.0.0' });
      try {
        const refused = await keyed(`http://${external}:${plain.httpPort}/api/deployment-info`);
        expect(refused.status).toBe(403);
        const body = (await refused.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('plaintext_not_allowed');
        expect(body.error.message).toMatch(/api\.allow_plaintext/);
        expect((await keyed(`http://127.0.0.1:${plain.httpPort}/api/deployment-info`)).status).toBe(200);
        expect((await keyed(`http://${external}:${allowed.httpPort}/api/deployment-info`)).status).toBe(200);
        const overTls = await get(secure.httpPort, '/api/deployment-info', { host: external, ca: pki.caPem, headers: { 'x-api-key': KEYS.admin } });
        expect(overTls.status).toBe(200);
      } finally {
        await Promise.all([plain.close(), allowed.close(), secure.close()]);
      }
    });
  });
});
