/**
 * TLS to the control plane (`evaluator.tls`): the CA its certificate is verified against, and a
 * client certificate and key for mTLS. Read when the config is compiled — at start and on every
 * reload, so a reload picks up renewed files — and checked there, each problem at its field.
 * Used by the remote evaluator's pool and by the bundle poller; the `digest` tells them when the
 * material changed and their connections must be rebuilt.
 */
import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { IssueList } from '../config/errors.js';
import { configRelative, readConfigFile } from '../config/files.js';
import type { EvaluatorConfig } from '../config/schema.js';

export interface ClientTls {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly servername: string | undefined;
  /** SHA-256 over the material and the name: equal digests, equal connections. */
  readonly digest: string;
}

/** undici `connect` options: verification always on; the CA, certificate and name when given. */
export function connectOptions(t: ClientTls | undefined): Record<string, unknown> | undefined {
  if (t === undefined) return undefined;
  return {
    rejectUnauthorized: true,
    ...(t.ca === undefined ? {} : { ca: t.ca }),
    ...(t.cert === undefined ? {} : { cert: t.cert, key: t.key }),
    ...(t.servername === undefined ? {} : { servername: t.servername }),
  };
}

type Field = 'ca_file' | 'cert_file' | 'key_file';

/** evaluator.tls read and checked; undefined (and issues) when it is absent or unusable. */
export function readClientTls(ev: EvaluatorConfig, configPath: string, issues: IssueList): ClientTls | undefined {
  const t = ev.tls;
  if (t === undefined) return undefined;
  const at = (f: string) => ['evaluator', 'tls', f];
  const before = issues.items.length;
  for (const [url, field] of [[ev.mode === 'remote' ? ev.url : undefined, ['evaluator', 'url']], [ev.bundle?.url, ['evaluator', 'bundle', 'url']]] as const) {
    if (url !== undefined && !url.startsWith('https://')) issues.add(field, `is ${url.split(':')[0]}:// but evaluator.tls is set: the control plane's TLS needs an https:// URL`);
  }
  if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
    issues.add(at(t.cert_file === undefined ? 'cert_file' : 'key_file'), `is required with ${t.cert_file === undefined ? 'key_file' : 'cert_file'} (the client certificate and its key, for mTLS)`);
  }
  const read = (field: Field): Buffer | undefined => {
    const file = t[field];
    return file === undefined ? undefined : readConfigFile(configRelative(configPath, file), at(field), issues);
  };
  const ca = read('ca_file');
  const cert = read('cert_file');
  const key = read('key_file');
  if (ca !== undefined) {
    // createSecureContext skips what is not a certificate: a CA file of nothing would verify nothing.
    const blocks = ca.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    try {
      if (blocks.length === 0) throw new Error('no -----BEGIN CERTIFICATE----- block');
      for (const b of blocks) new X509Certificate(b);
    } catch (e) {
      issues.add(at('ca_file'), `is not a PEM CA certificate: ${(e as Error).message}`);
    }
  }
  if (cert !== undefined && key !== undefined) {
    try {
      tls.createSecureContext({ cert, key });
    } catch (e) {
      issues.add(at('cert_file'), `cert_file and key_file do not make a client certificate: ${(e as Error).message}`);
    }
  }
  if (issues.items.length > before) return undefined;
  const h = createHash('sha256');
  for (const b of [ca, cert, key]) h.update(b ?? '').update('\0');
  h.update(t.server_name ?? '');
  return { ca, cert, key, servername: t.server_name, digest: h.digest('hex') };
}
