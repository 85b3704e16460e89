/**
 * The fleet topologies' Kubernetes manifests (docs/fleet.md "Topologies"): the control plane
 * (deploy/kubernetes/control-plane), edges that evaluate remotely (overlays/edge-remote) and
 * edges with policy bundles (overlays/edge-bundle). Kubernetes cannot run here: the configs are
 * validated by the sidecar's own schema and compiler, and what they name (the control plane's
 * Service, the Secrets' variables, the mounted key and cache directories, the bundle name) is
 * checked against the manifests that must provide it. Rendering needs kubectl (skipped without).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../src/bundles/bundle.js';
import { parseConfig } from '../src/config/parse.js';
import { runtimeFromText } from '../src/config/runtime.js';
import { deployPath, run, yamlDoc } from './helpers/deploy.js';
import { TestPki } from './helpers/certs.js';
import { describeWith, itWith } from './helpers/tools.js';

type Obj = Record<string, any>;
const K = (...p: string[]): string => deployPath('kubernetes', ...p);
const text = (...p: string[]) => readFileSync(K(...p), 'utf8');
const cp = parseConfig(text('control-plane', 'config.yaml'), 'control-plane').config;
const remote = parseConfig(text('overlays', 'edge-remote', 'config.yaml'), 'edge-remote').config;
const bundle = parseConfig(text('overlays', 'edge-bundle', 'config.yaml'), 'edge-bundle').config;
const base = parseConfig(text('base', 'config.yaml'), 'base').config;
const service = yamlDoc<Obj>(K('control-plane', 'service.yaml'));
const cpKustomization = yamlDoc<Obj>(K('control-plane', 'kustomization.yaml'));
const cpDeployment = yamlDoc<Obj>(K('control-plane', 'deployment.yaml'));
const serviceBase = `https://${service.metadata.name}.${cpKustomization.namespace}.svc:${service.spec.ports[0].port}`;

/** The env var names an edge overlay's patch gives the sidecar container. */
function patchedEnv(overlay: string): string[] {
  const k = yamlDoc<Obj>(K('overlays', overlay, 'kustomization.yaml'));
  const ops = k.patches.flatMap((p: Obj) => parseAllDocuments(p.patch as string).flatMap((d) => d.toJS() as Obj[]));
  return ops.filter((o: Obj) => o.path === '/spec/template/spec/containers/0/env/-').map((o: Obj) => o.value.name as string);
}

function patchedMounts(overlay: string): string[] {
  const k = yamlDoc<Obj>(K('overlays', overlay, 'kustomization.yaml'));
  const ops = k.patches.flatMap((p: Obj) => parseAllDocuments(p.patch as string).flatMap((d) => d.toJS() as Obj[]));
  return ops.filter((o: Obj) => o.path === '/spec/template/spec/containers/0/volumeMounts/-').map((o: Obj) => o.value.mountPath as string);
}

describe('the control plane', () => {
  it('decides with the policies, agents and routes a standalone pod runs, fails closed, and serves bundles', () => {
    for (const f of ['agents', 'routes', 'policies', 'risk', 'default_decision', 'mode'] as const) expect(cp[f], f).toEqual(base[f]);
    expect(cp.fail_mode).toBe('closed');
    expect(cp.bundles?.names).toContain('default');
    expect(cp.store?.driver).toBe('postgres');
  });

  it('has a gateway key, every variable its config reads comes from a Secret, and the key files are mounted', () => {
    const gateway = cp.api_keys.filter((k) => k.role === 'gateway');
    expect(gateway.length).toBeGreaterThan(0);
    const container = cpDeployment.spec.template.spec.containers[0];
    const env = new Map<string, Obj>((container.env as Obj[]).map((e) => [e.name, e]));
    const vars = [...text('control-plane', 'config.yaml').matchAll(/\{env: ([A-Z0-9_]+)\}/g)].map((m) => m[1]!);
    expect(vars.length).toBeGreaterThanOrEqual(2);
    for (const v of vars) expect(env.get(v)?.valueFrom?.secretKeyRef, v).toBeDefined();
    const mounts = (container.volumeMounts as Obj[]).map((m) => m.mountPath);
    expect(mounts).toContain(dirname(cp.bundles!.signing_key_file));
    expect(mounts).toContain(dirname(cp.server.tls?.cert_file ?? ''));
    expect(cp.api.allow_plaintext).toBe(false);
  });
});

describe('edges', () => {
  it('edge-remote asks the control plane\'s Service over HTTPS with the gateway key from a Secret, and holds no policy', () => {
    expect(remote.evaluator.mode).toBe('remote');
    expect(remote.evaluator.url).toBe(serviceBase);
    expect(remote.evaluator.api_key).toEqual({ env: 'ASCEND_EDGE_KEY' });
    expect(patchedEnv('edge-remote')).toEqual(expect.arrayContaining(['ASCEND_EDGE_KEY', 'NODE_EXTRA_CA_CERTS']));
    expect(remote.policies).toEqual([]);
    expect(remote.fail_mode).toBe('closed');
    // The edge maps requests with the control plane's routes.
    expect(remote.routes).toEqual(cp.routes);
    expect(runtimeFromText(text('overlays', 'edge-remote', 'config.yaml').replace('{env: ASCEND_EDGE_KEY}', 'k-test'), 'edge-remote', 1).evaluatorKey).toBe('k-test');
  });

  it('edge-bundle polls a bundle the control plane serves, with the key and the cache directory mounted, and compiles', () => {
    expect(bundle.evaluator.mode).toBe('local');
    const b = bundle.evaluator.bundle!;
    expect(b.url).toBe(`${serviceBase}/api/v1/bundles/${cp.bundles!.names[0]}`);
    expect(patchedEnv('edge-bundle')).toEqual(expect.arrayContaining(['ASCEND_EDGE_KEY', 'NODE_EXTRA_CA_CERTS']));
    expect(patchedMounts('edge-bundle')).toEqual(expect.arrayContaining([dirname(b.public_key_file), dirname(b.cache_file)]));
    expect(bundle.policies).toEqual([]);
    // The shipped public key is an ed25519 key; the config compiles with it.
    const pem = text('overlays', 'edge-bundle', 'bundle-public.pem');
    expect(ed25519PublicKey(pem).asymmetricKeyType).toBe('ed25519');
    const dir = mkdtempSync(join(tmpdir(), 'ascend-topology-'));
    writeFileSync(join(dir, 'public.pem'), pem);
    const cfg = text('overlays', 'edge-bundle', 'config.yaml').replace(b.public_key_file, join(dir, 'public.pem')).replace('{env: ASCEND_EDGE_KEY}', 'k-test');
    expect(runtimeFromText(cfg, join(dir, 'config.yaml'), 1).bundleKey?.asymmetricKeyType).toBe('ed25519');
  });

  itWith('openssl', 'the control plane config compiles with its signing key and certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ascend-topology-'));
    const tls = new TestPki(dir).server('control-plane', 'ascend-control-plane.ascend.svc');
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const cfg = text('control-plane', 'config.yaml').replace(cp.bundles!.signing_key_file, join(dir, 'signing.pem'))
      .replace(cp.server.tls?.cert_file ?? '', tls.cert).replace(cp.server.tls?.key_file ?? '', tls.key)
      .replace('{env: ASCEND_STORE_URL}', '"postgres://ascend@db:5432/ascend"').replace('{env: ASCEND_EDGE_KEY_SHA256}', `"${'a'.repeat(64)}"`);
    const rt = runtimeFromText(cfg, join(dir, 'config.yaml'), 1);
    expect(rt.bundleSigner?.names.has('default')).toBe(true);
  }, 15_000);
});

describeWith('kubectl', 'rendered with kubectl kustomize', () => {
  it.each(['control-plane', 'overlays/edge-remote', 'overlays/edge-bundle'])('%s renders', (dir) => {
    const r = run('kubectl', ['kustomize', K(dir)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const objs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
    expect(objs.some((o) => o.kind === 'Deployment')).toBe(true);
  });
});
