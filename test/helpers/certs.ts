/**
 * A throwaway PKI for the TLS tests, made with the openssl CLI (tool-probe: `openssl`): a CA,
 * server certificates for 127.0.0.1/localhost, client certificates with a SPIFFE URI SAN or
 * only a subject CN, and a client certificate from a second CA the listener does not trust.
 * EC P-256 keys: each certificate takes a few milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemTool } from './tools.js';

export interface Issued {
  cert: string;
  key: string;
  /** The PEM texts. */
  certPem: string;
  keyPem: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync(systemTool('openssl').path as string, args, { cwd, stdio: 'pipe' });
}

function keyPair(dir: string, name: string, subject: string): void {
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
}

export class TestPki {
  private serial = 1000;

  constructor(readonly dir: string, readonly caName = 'ca') {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${caName}.key`, '-out', `${caName}.crt`, '-days', '2', '-subj', `/CN=${caName} test CA`], dir);
  }

  get caFile(): string {
    return join(this.dir, `${this.caName}.crt`);
  }

  get caPem(): string {
    return readFileSync(this.caFile, 'utf8');
  }

  /** A certificate signed by this CA; `san` like `DNS:localhost,IP:127.0.0.1` or `URI:spiffe://…`. */
  issue(name: string, opts: { cn: string; san?: string; usage: 'serverAuth' | 'clientAuth' }): Issued {
    keyPair(this.dir, name, `/CN=${opts.cn}`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(ext, [`basicConstraints=CA:FALSE`, `extendedKeyUsage=${opts.usage}`, ...(opts.san ? [`subjectAltName=${opts.san}`] : [])].join('\n') + '\n');
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${this.caName}.crt`, '-CAkey', `${this.caName}.key`, '-set_serial', String(this.serial++), '-days', '1', '-extfile', ext, '-out', `${name}.crt`], this.dir);
    const cert = join(this.dir, `${name}.crt`);
    const key = join(this.dir, `${name}.key`);
    return { cert, key, certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
  }

  server(name = 'server', cn = 'sidecar'): Issued {
    return this.issue(name, { cn, san: 'DNS:localhost,IP:127.0.0.1', usage: 'serverAuth' });
  }
}
