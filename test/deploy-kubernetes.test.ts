/**
 * deploy/kubernetes and deploy/istio against the sidecar they deploy:
 *   - each config.yaml a ConfigMap is generated from passes the sidecar's own validation
 *     (schema + cross-field checks, the same code as `ascend-sidecar validate`), so the
 *     manifests only use config keys the schema accepts; overlays change only operational
 *     keys; production never ships fail-open;
 *   - container ports, probe paths, the config mount and the shutdown timing match the
 *     sidecar's defaults and its config (drain_timeout_ms);
 *   - Services, ServiceMonitor, NetworkPolicy, PDB and the Istio resources reference each
 *     other consistently;
 *   - who may call the gateway endpoints is said explicitly: loopback in the pod (base and
 *     overlays); in the shared Deployment behind Kong (shared-kong) the Kong pods' range, a
 *     token from a Secret the container gets as the variable the config names, a gateway
 *     port of its own that only Kong's pods may reach, and a Kong plugin that sends the token;
 *   - API keys never cross the pod network in plain text: every config says api.allow_plaintext
 *     explicitly (false); the shared Deployment, reached from other pods, serves HTTPS with a
 *     certificate from a Secret (its files are stood in for by test/fixtures/tls here);
 *   - every Deployment of more than one replica (base, production, shared-kong) shares a
 *     PostgreSQL store whose URL comes from a Secret, never the config; the example
 *     CloudNativePG Cluster (deploy/kubernetes/postgres) makes that Secret;
 *   - with a kubectl that embeds kustomize v4+ on PATH, every overlay is rendered and the
 *     rendered objects are checked too. Without one those cases are skipped (kustomize is not
 *     a Debian package; the source-file checks above still run).
 * No Kubernetes API server or Istio control plane runs here: schema validation of the
 * Kubernetes objects themselves (kubectl apply --dry-run=server) is not done.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import { runtimeFromText } from '../src/config/runtime.js';
import { ServerSchema, type Config } from '../src/config/schema.js';
import { CLI } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';
import { describeWith } from './helpers/tools.js';
import { DEPLOY, deployPath, isObject, run, yamlDoc, yamlDocs } from './helpers/deploy.js';

type Obj = Record<string, any>;
const K = (...p: string[]): string => deployPath('kubernetes', ...p);
const serverDefaults = Value.Default(ServerSchema, {}) as Config['server'];

// What the pods get from the Secret ascend-store-app (configs with a PostgreSQL store leave
// store.url out and read ASCEND_STORE_URL): validation reads it as the pod would.
process.env.ASCEND_STORE_URL = 'postgres://app@ascend-store-rw:5432/app';

const CONFIGS = {
  base: K('base', 'config.yaml'),
  production: K('overlays', 'production', 'config.yaml'),
  staging: K('overlays', 'staging', 'config.yaml'),
};

function config(file: string): Config {
  return runtimeFromText(readFileSync(file, 'utf8'), file, 1).config;
}

function docsByKind(file: string): Map<string, Obj> {
  const m = new Map<string, Obj>();
  for (const d of yamlDocs(file) as Obj[]) m.set(`${d.kind}/${d.metadata?.name}`, d);
  return m;
}

const base = {
  deployment: yamlDoc<Obj>(K('base', 'deployment.yaml')),
  services: docsByKind(K('base', 'service.yaml')),
  serviceMonitor: yamlDoc<Obj>(K('base', 'servicemonitor.yaml')),
  networkPolicy: yamlDoc<Obj>(K('base', 'networkpolicy.yaml')),
  pdb: yamlDoc<Obj>(K('base', 'pdb.yaml')),
};

function container(dep: Obj, name: string): Obj {
  const c = (dep.spec.template.spec.containers as Obj[]).find((x) => x.name === name);
  expect(c, `container ${name}`).toBeDefined();
  return c!;
}

function portNumber(c: Obj, ref: string | number): number {
  if (typeof ref === 'number') return ref;
  const p = (c.ports as Obj[]).find((x) => x.name === ref);
  expect(p, `named port ${ref} on ${c.name}`).toBeDefined();
  return p!.containerPort as number;
}

/** Seconds a preStop hook sleeps: `sleep N`, node -e "setTimeout(..., ms)" or `sleep: {seconds}`. */
function preStopSeconds(c: Obj): number {
  const ps = c.lifecycle?.preStop;
  if (!ps) return 0;
  if (ps.sleep) return ps.sleep.seconds as number;
  const cmd = (ps.exec?.command ?? []) as string[];
  if (cmd[0] === 'sleep') return Number(cmd[1]);
  const m = /setTimeout\([^,]+,\s*(\d+)\)/.exec(cmd.join(' '));
  if (m) return Number(m[1]) / 1000;
  throw new Error(`cannot read the preStop duration of ${c.name}: ${JSON.stringify(ps)}`);
}

function memoryBytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`unsupported quantity ${q}`);
  return Number(m[1]) * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? ''] ?? 1);
}

function maxOldSpaceMb(c: Obj): number | undefined {
  const v = (c.env as Obj[] | undefined)?.find((e) => e.name === 'NODE_OPTIONS')?.value as string | undefined;
  const m = v ? /--max-old-space-size=(\d+)/.exec(v) : null;
  return m ? Number(m[1]) : undefined;
}

/** Non-root, read-only, no capabilities, requests and limits, and Node's heap within the limit. */
function checkHardening(spec: Obj, sc: Obj): void {
  expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  expect(spec.securityContext.runAsUser).toBeGreaterThan(0);
  for (const c of spec.containers as Obj[]) {
    expect(c.securityContext, c.name).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.resources?.requests?.cpu, `${c.name} cpu request`).toBeDefined();
    expect(c.resources?.limits?.memory, `${c.name} memory limit`).toBeDefined();
  }
  // Node's heap fits the memory limit with room for everything else (<= 80%).
  const heap = maxOldSpaceMb(sc);
  expect(heap, 'NODE_OPTIONS --max-old-space-size').toBeDefined();
  expect(heap! * 1024 ** 2).toBeLessThanOrEqual(0.8 * memoryBytes(sc.resources.limits.memory));
}

/** Checks one Deployment (source or rendered) against the sidecar config it mounts. */
function checkSidecarPod(dep: Obj, cfg: Config): void {
  const spec = dep.spec.template.spec as Obj;
  const sc = container(dep, 'ascend-sidecar');

  // Command: node dist/cli.js serve --config <file in the mounted ConfigMap>.
  expect(sc.image).toMatch(/^ghcr\.io\/ascend\/ascend-sidecar:/);
  const argv = [...(sc.command ?? []), ...(sc.args ?? [])] as string[];
  expect(argv.slice(0, 3)).toEqual(['node', 'dist/cli.js', 'serve']);
  expect(sc.workingDir).toBe('/app');
  const configPath = argv[argv.indexOf('--config') + 1]!;
  const mount = (sc.volumeMounts as Obj[]).find((m) => configPath.startsWith(`${m.mountPath}/`));
  expect(mount, `a volume mounted above ${configPath}`).toBeDefined();
  const volume = (spec.volumes as Obj[]).find((v) => v.name === mount!.name);
  expect(volume?.configMap?.name).toMatch(/^ascend-sidecar-config/);
  expect(configPath.slice(mount!.mountPath.length + 1)).toBe('config.yaml');
  expect(argv).not.toContain('--grpc-port');
  expect(argv).not.toContain('--http-port');

  // Ports: the config's, which are the documented defaults.
  expect(cfg.server.grpc_port).toBe(serverDefaults.grpc_port);
  expect(cfg.server.http_port).toBe(serverDefaults.http_port);
  expect(cfg.server.host).toBe('0.0.0.0');
  const ports = (sc.ports as Obj[]).map((p) => p.containerPort);
  expect(ports.sort()).toEqual([cfg.server.http_port, cfg.server.grpc_port].sort());

  // Probes on the HTTP port: readiness /readyz, liveness and startup /healthz.
  for (const [probe, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz'], ['startupProbe', '/healthz']] as const) {
    expect(sc[probe]?.httpGet?.path, probe).toBe(path);
    expect(portNumber(sc, sc[probe].httpGet.port), `${probe} port`).toBe(cfg.server.http_port);
  }

  checkHardening(spec, sc);

  // Shutdown: the sidecar outlives every other container's preStop, then drains; the grace
  // period covers its preStop plus the drain with margin.
  const mine = preStopSeconds(sc);
  for (const c of spec.containers as Obj[]) {
    if (c.name !== 'ascend-sidecar') expect(mine, `sidecar preStop >= ${c.name} preStop`).toBeGreaterThan(preStopSeconds(c));
  }
  expect(mine).toBeGreaterThan(0);
  expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(mine + cfg.server.drain_timeout_ms / 1000);
}

describe('sidecar configs in the ConfigMaps', () => {
  it.each(Object.entries(CONFIGS))('%s config.yaml passes the sidecar validation', (_name, file) => {
    expect(() => config(file)).not.toThrow();
  });

  it.each(Object.entries(CONFIGS))('%s config.yaml passes `ascend-sidecar validate`', (_name, file) => {
    const r = run(process.execPath, [CLI, 'validate', '--config', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: OK \(4 policies, 3 routes, 2 agents/);
  });

  it('overlays change only operational keys: same agents, routes, policies, identity, risk', () => {
    const b = config(CONFIGS.base);
    for (const f of [CONFIGS.production, CONFIGS.staging]) {
      const o = config(f);
      for (const k of ['agents', 'routes', 'policies', 'identity', 'risk', 'responses', 'normalization', 'default_decision', 'server', 'gateway_access'] as const) {
        expect(o[k], `${f}: ${k}`).toEqual(b[k]);
      }
    }
  });

  it('production enforces and fails closed', () => {
    const p = config(CONFIGS.production);
    expect(p.fail_mode).toBe('closed');
    expect(p.mode).toBe('enforce');
    expect(p.default_decision).toBe('deny');
    expect(config(CONFIGS.base).fail_mode).toBe('closed');
  });

  it('says explicitly that API keys are not accepted in plain text from outside the pod', () => {
    for (const f of Object.values(CONFIGS)) {
      expect(yamlDoc<Obj>(f).api?.allow_plaintext, f).toBe(false);
      expect(config(f).server.http_tls ?? config(f).server.tls, f).toBeUndefined();
    }
  });

  it('says explicitly who may call the gateway endpoints: loopback only (the gateway is in the pod), no token', () => {
    for (const f of Object.values(CONFIGS)) {
      const raw = yamlDoc<Obj>(f);
      expect(raw.gateway_access, f).toEqual({ allowed_peers: ['127.0.0.0/8', '::1/128'] });
      expect(raw.server.gateway_http_port, f).toBeUndefined();
    }
  });

  it('trusts no header identity (nothing strips a client x-agent-id under Istio)', () => {
    for (const f of Object.values(CONFIGS)) {
      expect(config(f).identity.sources.filter((s) => s.header !== undefined), f).toEqual([]);
    }
  });
});

describe('kustomizations', () => {
  const KNOWN_FIELDS = new Set([
    'apiVersion', 'kind', 'namespace', 'namePrefix', 'nameSuffix', 'resources', 'components', 'configMapGenerator',
    'secretGenerator', 'generatorOptions', 'patches', 'labels', 'commonAnnotations', 'images', 'replicas', 'replacements',
  ]);
  const files = [
    K('base', 'kustomization.yaml'),
    K('overlays', 'production', 'kustomization.yaml'),
    K('overlays', 'staging', 'kustomization.yaml'),
    K('overlays', 'istio', 'kustomization.yaml'),
    K('components', 'istio', 'kustomization.yaml'),
    K('shared-kong', 'kustomization.yaml'),
    K('postgres', 'kustomization.yaml'),
    deployPath('istio', 'kustomization.yaml'),
    deployPath('envoy', 'kustomization.yaml'),
  ];

  it.each(files.map((f) => [relative(DEPLOY, f), f]))('%s uses known fields and references files that exist', (_name, file) => {
    const k = yamlDoc<Obj>(file);
    for (const key of Object.keys(k)) expect(KNOWN_FIELDS, `${file}: field ${key}`).toContain(key);
    expect(k.kind).toMatch(/^(Kustomization|Component)$/);
    const dir = dirname(file);
    const refs: string[] = [
      ...(k.resources ?? []),
      ...(k.components ?? []),
      ...((k.patches ?? []) as Obj[]).flatMap((p) => (p.path ? [p.path] : [])),
      ...((k.configMapGenerator ?? []) as Obj[]).flatMap((g) => g.files ?? []),
    ];
    for (const r of refs) expect(existsSync(join(dir, r)), `${file} → ${r}`).toBe(true);
    for (const r of [...(k.resources ?? []), ...(k.components ?? [])] as string[]) {
      if (!r.endsWith('.yaml')) expect(existsSync(join(dir, r, 'kustomization.yaml')), `${r} is a kustomization`).toBe(true);
    }
  });

  it('overlays replace the sidecar config rather than adding a second one', () => {
    for (const o of ['production', 'staging']) {
      const g = (yamlDoc<Obj>(K('overlays', o, 'kustomization.yaml')).configMapGenerator as Obj[])[0]!;
      expect(g).toMatchObject({ name: 'ascend-sidecar-config', behavior: 'replace', files: ['config.yaml'] });
    }
  });
});

describe('the fleet store: more than one replica share PostgreSQL', () => {
  const replicas = (dep: Obj, patch?: string) => (patch ? yamlDoc<Obj>(patch).spec?.replicas : undefined) ?? dep.spec.replicas as number;
  const cases: [string, string, Obj, string | undefined][] = [
    ['base', CONFIGS.base, base.deployment, undefined],
    ['production', CONFIGS.production, base.deployment, K('overlays', 'production', 'deployment-patch.yaml')],
    ['shared-kong', K('shared-kong', 'config.yaml'), yamlDoc<Obj>(K('shared-kong', 'deployment.yaml')), undefined],
  ];

  it.each(cases)('%s: >1 replica, store.driver postgres, the URL from the Secret ascend-store-app', (_name, file, dep, patch) => {
    expect(replicas(dep, patch)).toBeGreaterThan(1);
    const raw = yamlDoc<Obj>(file);
    expect(raw.store).toMatchObject({ driver: 'postgres' });
    expect(raw.store.url).toBeUndefined(); // never a password in a ConfigMap
    const env = (container(dep, 'ascend-sidecar').env as Obj[]).find((e) => e.name === 'ASCEND_STORE_URL');
    expect(env?.valueFrom?.secretKeyRef).toMatchObject({ name: 'ascend-store-app', key: 'uri' });
    // (shared-kong's config is compiled with its token and TLS files in its own describe below.)
    const poolMax = (raw.store.pool_max ?? 10) as number;
    // Each process holds pool_max connections plus its listener: the example cluster has room for 10 replicas.
    const maxConnections = Number(yamlDoc<Obj>(K('postgres', 'cluster.yaml')).spec.postgresql.parameters.max_connections);
    expect(10 * (poolMax + 1)).toBeLessThan(maxConnections);
  });

  it('staging (one replica) keeps no shared store, and starts without the Secret', () => {
    expect(yamlDoc<Obj>(CONFIGS.staging).store).toBeUndefined();
    const env = (container(base.deployment, 'ascend-sidecar').env as Obj[]).find((e) => e.name === 'ASCEND_STORE_URL');
    expect(env?.valueFrom?.secretKeyRef?.optional).toBe(true);
  });

  it('the example PostgreSQL is a CloudNativePG Cluster whose app Secret is the one the sidecars read', () => {
    const cluster = yamlDoc<Obj>(K('postgres', 'cluster.yaml'));
    expect(cluster).toMatchObject({ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name: 'ascend-store' } });
    expect(cluster.spec.instances).toBeGreaterThan(1);
    // CloudNativePG names the app user's Secret <cluster>-app, with the URL under `uri`.
    expect(`${cluster.metadata.name}-app`).toBe('ascend-store-app');
  });

  it('a config with driver postgres and no URL anywhere is refused, naming ASCEND_STORE_URL', () => {
    const r = spawnSync(process.execPath, [CLI, 'validate', '--config', CONFIGS.base], { encoding: 'utf8', env: { ...process.env, ASCEND_STORE_URL: '' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/store\.url.*ASCEND_STORE_URL/);
  });
});

describe('base manifests', () => {
  it('the sidecar container matches its config and the sidecar defaults', () => {
    checkSidecarPod(base.deployment, config(CONFIGS.base));
  });

  it('Envoy in the pod uses deploy/envoy/envoy.yaml and reaches the sidecar over loopback', () => {
    const envoy = container(base.deployment, 'envoy');
    expect(envoy.args).toContain('/etc/envoy/envoy.yaml');
    expect(yamlDoc<Obj>(deployPath('envoy', 'kustomization.yaml')).configMapGenerator[0]).toMatchObject({ name: 'ascend-envoy-config', files: ['envoy.yaml'] });
    const envoyCfg = yamlDoc<Obj>(deployPath('envoy', 'envoy.yaml'));
    const listenerPort = envoyCfg.static_resources.listeners[0].address.socket_address.port_value;
    expect(portNumber(envoy, 'http-envoy')).toBe(listenerPort);
  });

  it('Services target named container ports; the ServiceMonitor scrapes /metrics on the sidecar HTTP port', () => {
    const sc = container(base.deployment, 'ascend-sidecar');
    const podLabels = base.deployment.spec.template.metadata.labels as Obj;
    const metricsSvc = base.services.get('Service/payments-ascend-metrics')!;
    expect(metricsSvc).toBeDefined();
    for (const svc of base.services.values()) expect(podLabels).toMatchObject(svc.spec.selector);
    const mport = (metricsSvc.spec.ports as Obj[]).find((p) => p.name === 'metrics')!;
    expect(portNumber(sc, mport.targetPort)).toBe(serverDefaults.http_port);

    const sm = base.serviceMonitor;
    expect(metricsSvc.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
    // job="ascend-sidecar", which the alerts and the dashboard select on.
    expect(metricsSvc.metadata.labels[sm.spec.jobLabel]).toBe('ascend-sidecar');

    const api = base.services.get('Service/payments')!;
    expect(portNumber(container(base.deployment, 'envoy'), api.spec.ports[0].targetPort)).toBe(10000);
  });

  it('NetworkPolicy admits Prometheus to the metrics port and nobody to the ext_authz port', () => {
    const np = base.networkPolicy;
    expect(base.deployment.spec.template.metadata.labels).toMatchObject(np.spec.podSelector.matchLabels);
    expect(np.spec.policyTypes).toContain('Ingress');
    const allowed = (np.spec.ingress as Obj[]).flatMap((r) => (r.ports as Obj[]).map((p) => p.port));
    expect(allowed).toContain(serverDefaults.http_port);
    expect(allowed).not.toContain(serverDefaults.grpc_port);
    const metricsRule = (np.spec.ingress as Obj[]).find((r) => (r.ports as Obj[]).some((p) => p.port === serverDefaults.http_port))!;
    expect(metricsRule.from[0].podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'prometheus' });
  });

  it('the PodDisruptionBudget selects the pods', () => {
    expect(base.deployment.spec.template.metadata.labels).toMatchObject(base.pdb.spec.selector.matchLabels);
  });

  it('the production patch keeps the heap within the new memory limit', () => {
    const patch = yamlDoc<Obj>(K('overlays', 'production', 'deployment-patch.yaml'));
    const sc = (patch.spec.template.spec.containers as Obj[]).find((c) => c.name === 'ascend-sidecar')!;
    expect(maxOldSpaceMb(sc)! * 1024 ** 2).toBeLessThanOrEqual(0.8 * memoryBytes(sc.resources.limits.memory));
  });
});

describe('deploy/istio', () => {
  const mesh = yamlDoc<Obj>(deployPath('istio', 'meshconfig.yaml'));
  const se = docsByKind(deployPath('istio', 'serviceentry.yaml'));
  const ap = yamlDoc<Obj>(deployPath('istio', 'authorizationpolicy.yaml'));
  const provider = (mesh.spec.meshConfig.extensionProviders as Obj[])[0]!;

  it('declares an envoyExtAuthzGrpc provider with only fields Istio defines', () => {
    // Fields of istio.mesh.v1alpha1 MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationGrpcProvider.
    const FIELDS = ['service', 'port', 'timeout', 'failOpen', 'statusOnError', 'includeRequestBodyInCheck'];
    const BODY = ['maxRequestBytes', 'allowPartialMessage', 'packAsBytes'];
    const g = provider.envoyExtAuthzGrpc as Obj;
    for (const k of Object.keys(g)) expect(FIELDS).toContain(k);
    for (const k of Object.keys(g.includeRequestBodyInCheck)) expect(BODY).toContain(k);
    expect(g.port).toBe(serverDefaults.grpc_port);
    expect(g.failOpen).toBe(false);
    expect(g.timeout).toMatch(/^\d+(\.\d+)?s$/);
    expect(g.includeRequestBodyInCheck).toEqual({ maxRequestBytes: 8192, allowPartialMessage: true, packAsBytes: false });
    expect(typeof g.statusOnError).toBe('string');
  });

  it('a ServiceEntry makes the provider host resolve to the in-pod sidecar on loopback', () => {
    const entry = se.get('ServiceEntry/ascend-sidecar-local')!;
    const g = provider.envoyExtAuthzGrpc as Obj;
    expect(entry.spec.hosts).toEqual([g.service]);
    expect(entry.spec.resolution).toBe('STATIC');
    expect(entry.spec.endpoints).toEqual([{ address: '127.0.0.1' }]);
    expect(entry.spec.ports).toEqual([{ name: 'grpc-authz', number: g.port, protocol: 'GRPC' }]);
    expect(se.get('DestinationRule/ascend-sidecar-local')!.spec).toMatchObject({ host: g.service, trafficPolicy: { tls: { mode: 'DISABLE' } } });
  });

  it('the AuthorizationPolicy uses the provider, selects the pods and covers only the app port', () => {
    expect(ap.spec.action).toBe('CUSTOM');
    expect(ap.spec.provider.name).toBe(provider.name);
    expect(base.deployment.spec.template.metadata.labels).toMatchObject(ap.spec.selector.matchLabels);
    const ports = (ap.spec.rules as Obj[]).flatMap((r) => (r.to as Obj[]).flatMap((t) => t.operation.ports as string[]));
    const patch = yamlDoc<Obj>(K('components', 'istio', 'deployment-patch.yaml'));
    const app = (patch.spec.template.spec.containers as Obj[]).find((c) => c.name === 'app')!;
    expect(ports).toEqual([String(app.ports[0].containerPort)]);
    expect(ports).not.toContain(String(serverDefaults.http_port));
  });
});

/** Where the shared Deployment mounts its TLS Secret, and the test certificate standing in for it. */
const TLS_MOUNT = '/etc/ascend-tls/';
const TEST_TLS = join(dirname(new URL(import.meta.url).pathname), 'fixtures', 'tls') + '/';

describe('shared Deployment behind Kong (shared-kong)', () => {
  const S = (...p: string[]) => K('shared-kong', ...p);
  const TOKEN_ENV = { ASCEND_GATEWAY_TOKEN: 'test-token-not-a-secret' };
  // The config as the pod reads it, its TLS files at the test certificate's place.
  const testConfigPath = join(tempDir('ascend-shared-kong-'), 'config.yaml');
  writeFileSync(testConfigPath, readFileSync(S('config.yaml'), 'utf8').replaceAll(TLS_MOUNT, TEST_TLS));
  const dep = yamlDoc<Obj>(S('deployment.yaml'));
  const services = docsByKind(S('service.yaml'));
  const np = yamlDoc<Obj>(S('networkpolicy.yaml'));
  const plugin = yamlDoc<Obj>(S('kong-plugin.yaml'));
  const sc = container(dep, 'ascend-sidecar');
  const withToken = <T>(fn: () => T): T => {
    process.env.ASCEND_GATEWAY_TOKEN = TOKEN_ENV.ASCEND_GATEWAY_TOKEN;
    try {
      return fn();
    } finally {
      delete process.env.ASCEND_GATEWAY_TOKEN;
    }
  };
  const cfg = withToken(() => config(testConfigPath));

  it('config.yaml passes `ascend-sidecar validate` with the token variable, and names it without', () => {
    const ok = spawnSync(process.execPath, [CLI, 'validate', '--config', testConfigPath], { encoding: 'utf8', env: { ...process.env, ...TOKEN_ENV } });
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    const missing = spawnSync(process.execPath, [CLI, 'validate', '--config', testConfigPath], { encoding: 'utf8', env: { ...process.env, ASCEND_GATEWAY_TOKEN: '' } });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/gateway_access\.token\.env: environment variable ASCEND_GATEWAY_TOKEN is (not set|empty)/);
  });

  it('serves both HTTP ports over HTTPS from the Secret ascend-sidecar-tls; probes use HTTPS; keys never in plain text', () => {
    const raw = yamlDoc<Obj>(S('config.yaml'));
    expect(raw.api.allow_plaintext).toBe(false);
    expect(cfg.server.tls?.enabled).toBe(true);
    expect(cfg.server.http_tls).toBeUndefined();
    expect(cfg.server.gateway_http_tls).toBeUndefined();
    for (const f of ['cert_file', 'key_file'] as const) expect(String(raw.server.tls[f]).startsWith(TLS_MOUNT), f).toBe(true);
    const mount = (sc.volumeMounts as Obj[]).find((m) => `${m.mountPath}/` === TLS_MOUNT);
    expect(mount?.readOnly).toBe(true);
    const volume = (dep.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount!.name);
    expect(volume?.secret?.secretName).toBe('ascend-sidecar-tls');
    // kubernetes.io/tls Secrets hold tls.crt and tls.key.
    expect([raw.server.tls.cert_file, raw.server.tls.key_file]).toEqual([`${TLS_MOUNT}tls.crt`, `${TLS_MOUNT}tls.key`]);
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) expect(sc[probe].httpGet.scheme, probe).toBe('HTTPS');
    expect(plugin.config.ssl_verify).toBe(true);
    // Without the files the pod would not start: validate names the field.
    const r = spawnSync(process.execPath, [CLI, 'validate', '--config', S('config.yaml')], { encoding: 'utf8', env: { ...process.env, ...TOKEN_ENV } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/server\.tls\.cert_file: cannot read \/etc\/ascend-tls\/tls\.crt/);
  });

  it('lets in the Kong pods\' range with a token, not loopback', () => {
    expect(cfg.gateway_access.allowed_peers).not.toContain('127.0.0.0/8');
    expect(cfg.gateway_access.allowed_peers.length).toBeGreaterThan(0);
    const raw = yamlDoc<Obj>(S('config.yaml'));
    expect(raw.gateway_access.token).toEqual({ env: 'ASCEND_GATEWAY_TOKEN' });
    const env = (sc.env as Obj[]).find((e) => e.name === 'ASCEND_GATEWAY_TOKEN');
    expect(env?.valueFrom?.secretKeyRef).toEqual({ name: 'ascend-gateway-token', key: 'token' });
    expect(env?.value).toBeUndefined();
    expect(cfg.identity.sources.filter((s) => s.header !== undefined)).toEqual([]);
  });

  it('serves the Kong endpoints on a gateway port of their own, the REST API and probes on the main one', () => {
    expect(cfg.server.gateway_http_port).toBeDefined();
    expect(cfg.server.gateway_host).toBe('0.0.0.0');
    expect(portNumber(sc, 'http-gateway')).toBe(cfg.server.gateway_http_port);
    expect(portNumber(sc, 'http-ascend')).toBe(cfg.server.http_port);
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) expect(portNumber(sc, sc[probe].httpGet.port), probe).toBe(cfg.server.http_port);
    const gw = services.get('Service/ascend-gateway')!;
    expect(portNumber(sc, gw.spec.ports[0].targetPort)).toBe(cfg.server.gateway_http_port);
    const api = services.get('Service/ascend-sidecar')!;
    expect(portNumber(sc, api.spec.ports[0].targetPort)).toBe(cfg.server.http_port);
    for (const svc of services.values()) expect(dep.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    const argv = [...sc.command, ...sc.args] as string[];
    expect(argv.slice(0, 3)).toEqual(['node', 'dist/cli.js', 'serve']);
    checkHardening(dep.spec.template.spec, sc);
  });

  it('NetworkPolicy: only Kong\'s pods reach the gateway port; nobody the gRPC port', () => {
    expect(dep.spec.template.metadata.labels).toMatchObject(np.spec.podSelector.matchLabels);
    const rules = np.spec.ingress as Obj[];
    const to = (port: number) => rules.filter((r) => (r.ports as Obj[]).some((p) => p.port === port));
    const gatewayRules = to(cfg.server.gateway_http_port!);
    expect(gatewayRules).toHaveLength(1);
    expect(gatewayRules[0]!.from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kong' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kong' } } }]);
    expect(to(cfg.server.http_port).flatMap((r) => r.from as Obj[]).some((f) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'kong')).toBe(false);
    expect(to(cfg.server.grpc_port)).toEqual([]);
  });

  it('the Kong plugin calls the gateway Service with the token from a vault reference', () => {
    expect(plugin.plugin).toBe('ascend');
    const ns = yamlDoc<Obj>(S('kustomization.yaml')).namespace as string;
    const gw = services.get('Service/ascend-gateway')!;
    expect(plugin.config.sidecar_url).toBe(`https://${gw.metadata.name}.${ns}.svc.cluster.local:${gw.spec.ports[0].port}`);
    // Kong's env vault reads {vault://env/a-b} from the variable A_B: the one the sidecar's config names.
    const ref = /^\{vault:\/\/env\/([a-z0-9-]+)\}$/.exec(plugin.config.gateway_token as string);
    expect(ref, 'gateway_token is an env vault reference').not.toBeNull();
    expect(ref![1]!.toUpperCase().replace(/-/g, '_')).toBe(yamlDoc<Obj>(S('config.yaml')).gateway_access.token.env);
    expect(plugin.config.fail_mode).toBe('closed');
  });
});

const OVERLAYS = ['base', 'overlays/production', 'overlays/staging', 'overlays/istio'] as const;
describeWith('kubectl', 'rendered with kubectl kustomize', () => {
  function render(dir: string): Obj[] {
    const r = run('kubectl', ['kustomize', K(dir)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
  }

  it.each(OVERLAYS)('%s renders, and its pod mounts a ConfigMap holding a valid config', (dir) => {
    const objs = render(dir);
    const dep = objs.find((o) => o.kind === 'Deployment')!;
    const cmName = (dep.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'ascend-config')!.configMap.name as string;
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName);
    expect(cm, `ConfigMap ${cmName}`).toBeDefined();
    expect(cmName).toMatch(/^ascend-sidecar-config-[a-z0-9]{10}$/); // hash suffix: changes roll the pods
    const text = cm!.data['config.yaml'] as string;
    const cfg = runtimeFromText(text, `${dir}:ConfigMap/${cmName}`, 1).config;
    checkSidecarPod(dep, cfg);
    for (const o of objs) expect(isObject(o.metadata)).toBe(true);
  });

  it('production renders fail-closed with 3 replicas and an HPA', () => {
    const objs = render('overlays/production');
    const dep = objs.find((o) => o.kind === 'Deployment')!;
    expect(dep.spec.replicas).toBe(3);
    expect(objs.find((o) => o.kind === 'HorizontalPodAutoscaler')!.spec.minReplicas).toBe(3);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && String(o.metadata.name).startsWith('ascend-sidecar-config'))!;
    expect(runtimeFromText(cm.data['config.yaml'], 'prod', 1).config.fail_mode).toBe('closed');
    expect(objs.find((o) => o.kind === 'PodDisruptionBudget')!.spec).toEqual(expect.objectContaining({ minAvailable: 2 }));
    expect(objs.find((o) => o.kind === 'PodDisruptionBudget')!.spec.maxUnavailable).toBeUndefined();
  });

  it('shared-kong renders in its namespace, and its pod mounts a ConfigMap holding its config', () => {
    const objs = render('shared-kong');
    const dep = objs.find((o) => o.kind === 'Deployment')!;
    expect(dep.metadata.namespace).toBe('ascend');
    const cmName = (dep.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'ascend-config')!.configMap.name as string;
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName);
    expect(cm?.data['config.yaml']).toBe(readFileSync(K('shared-kong', 'config.yaml'), 'utf8'));
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'NetworkPolicy', 'Service', 'Service']);
  });

  it('istio swaps the in-pod Envoy for istio-proxy and brings the Istio resources', () => {
    const objs = render('overlays/istio');
    const dep = objs.find((o) => o.kind === 'Deployment')!;
    const names = (dep.spec.template.spec.containers as Obj[]).map((c) => c.name);
    expect(names).not.toContain('envoy');
    expect(objs.some((o) => o.kind === 'ConfigMap' && String(o.metadata.name).startsWith('ascend-envoy-config'))).toBe(false);
    expect((dep.spec.template.spec.volumes as Obj[]).map((v) => v.name)).not.toContain('envoy-config');
    expect(dep.spec.template.metadata.annotations['traffic.sidecar.istio.io/excludeInboundPorts']).toBe(String(serverDefaults.http_port));
    for (const kind of ['ServiceEntry', 'DestinationRule', 'AuthorizationPolicy']) {
      expect(objs.find((o) => o.kind === kind)?.metadata.namespace, kind).toBe('payments');
    }
  });
});
