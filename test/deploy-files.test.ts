/**
 * Every YAML and JSON file under deploy/ parses (strictly: duplicate keys and YAML warnings are
 * errors; multi-document files are read whole). The Kong plugin's Lua, shell and rockspec files
 * are not YAML and are skipped; deploy/kong/kong.yml is.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { deployFiles, deployPath, yamlDocs } from './helpers/deploy.js';

const files = deployFiles();
// Helm templates are Go templates that render to YAML (test/deploy-helm.test.ts renders them).
const yamlFiles = files.filter((f) => /\.ya?ml$/.test(f) && !/^helm\/[^/]+\/templates\//.test(f));
const jsonFiles = files.filter((f) => f.endsWith('.json'));

describe('deploy/ files parse', () => {
  it('finds the files this kit ships', () => {
    for (const f of [
      'envoy/envoy.yaml',
      'envoy/envoy-http-service.yaml',
      'istio/meshconfig.yaml',
      'istio/authorizationpolicy.yaml',
      'kubernetes/base/kustomization.yaml',
      'kubernetes/overlays/production/kustomization.yaml',
      'grafana/ascend-sidecar.json',
      'prometheus/alerts.rules.yaml',
      'prometheus/recording.rules.yaml',
      'kong/kong.yml',
    ]) {
      expect(files, f).toContain(f);
    }
  });

  it.each(yamlFiles)('%s', (f) => {
    const docs = yamlDocs(deployPath(f));
    expect(docs.length, `${f} has no YAML document`).toBeGreaterThan(0);
    for (const d of docs) expect(typeof d, `${f}: a document is not a mapping`).toBe('object');
  });

  it.each(jsonFiles)('%s', (f) => {
    expect(() => JSON.parse(readFileSync(deployPath(f), 'utf8'))).not.toThrow();
  });
});
