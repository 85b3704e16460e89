/**
 * TLS and mTLS for the listeners (`server.tls`, or a listener's own `server.grpc_tls`,
 * `http_tls`, `gateway_http_tls`). The certificate, key and client CA are PEM files, read at
 * start and checked every `reload_interval_ms` for a change (stat: inode, size, mtime — a
 * Kubernetes Secret volume swaps a symlink, which changes the inode behind the path). A change
 * that still makes a valid context is installed with tls.Server#setSecureContext: new
 * handshakes use it, connections already open keep theirs and are never dropped. A change that
 * does not (a key that no longer matches, a half-written file) is logged and the listener
 * keeps serving its current certificate; the next change is tried again.
 */
import { X509Certificate } from 'node:crypto';
import net, { type Server, type Socket } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import tls, { TLSSocket, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { IssueList } from '../config/errors.js';
import { configRelative, readConfigFile } from '../config/files.js';
import type { Config, TlsConfig } from '../config/schema.js';
import type { ListenerName } from './connection-gate.js';

type ServerConfig = Config['server'];

const FIELD: Readonly<Record<ListenerName, 'grpc_tls' | 'http_tls' | 'gateway_http_tls'>> = { grpc: 'grpc_tls', http: 'http_tls', gateway_http: 'gateway_http_tls' };

/** The TLS settings of `listener` (its own, else server.tls) and the field they came from; undefined: plain text. */
export function listenerTls(server: ServerConfig, listener: ListenerName): { settings: TlsConfig; field: string } | undefined {
  const own = server[FIELD[listener]];
  const settings = own ?? server.tls;
  if (settings === undefined || !settings.enabled) return undefined;
  return { settings, field: own === undefined ? 'tls' : FIELD[listener] };
}

/** The PEM material of one listener. */
export interface Pem {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

interface Paths {
  cert: string;
  key: string;
  ca: string | undefined;
}

function pathsOf(t: TlsConfig, configPath: string | undefined): Paths {
  const at = (p: string) => configRelative(configPath, p);
  return { cert: at(t.cert_file as string), key: at(t.key_file as string), ca: t.client_ca_file === undefined ? undefined : at(t.client_ca_file) };
}

function readPem(p: Paths): Pem {
  return { cert: readFileSync(p.cert), key: readFileSync(p.key), ca: p.ca === undefined ? undefined : readFileSync(p.ca) };
}

function contextOptions(pem: Pem): SecureContextOptions {
  return pem.ca === undefined ? { cert: pem.cert, key: pem.key } : { cert: pem.cert, key: pem.key, ca: pem.ca };
}

/**
 * Every problem of the TLS settings, at its field: a missing file, a key that does not match
 * its certificate, require_client_cert without a CA. Run on `validate`, at start and on reload.
 */
export function checkTls(server: ServerConfig, configPath: string | undefined, issues: IssueList): void {
  for (const field of ['tls', 'grpc_tls', 'http_tls', 'gateway_http_tls'] as const) {
    const t = server[field];
    if (t === undefined || !t.enabled) continue;
    const at = ['server', field];
    if (t.cert_file === undefined) issues.add([...at, 'cert_file'], 'is required when TLS is enabled');
    if (t.key_file === undefined) issues.add([...at, 'key_file'], 'is required when TLS is enabled');
    if (t.require_client_cert && t.client_ca_file === undefined) issues.add([...at, 'client_ca_file'], 'is required with require_client_cert: true (the CA that client certificates are verified against)');
    if (t.cert_file === undefined || t.key_file === undefined) continue;
    const p = pathsOf(t, configPath);
    const cert = readConfigFile(p.cert, [...at, 'cert_file'], issues);
    const key = readConfigFile(p.key, [...at, 'key_file'], issues);
    const ca = p.ca === undefined ? undefined : readConfigFile(p.ca, [...at, 'client_ca_file'], issues);
    if (cert === undefined || key === undefined || (p.ca !== undefined && ca === undefined)) continue;
    try {
      tls.createSecureContext(contextOptions({ cert, key, ca }));
    } catch (e) {
      issues.add(at, `cert_file, key_file and client_ca_file do not make a TLS context: ${(e as Error).message}`);
    }
  }
}

function signatureSync(p: Paths): string {
  return [p.cert, p.key, p.ca].map((f) => {
    if (f === undefined) return '';
    try {
      const s = statSync(f);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }).join('|');
}

async function signature(p: Paths): Promise<string> {
  const parts = await Promise.all([p.cert, p.key, p.ca].map(async (f) => {
    if (f === undefined) return '';
    try {
      const s = await stat(f);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }));
  return parts.join('|');
}

/** One listener's certificate, key and client CA, kept current. */
export class TlsCredentials {
  private current: Pem;
  private seen: string;
  private readonly listeners = new Set<(pem: Pem) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly listener: ListenerName,
    readonly settings: TlsConfig,
    private readonly paths: Paths,
    private readonly logger: Logger | undefined,
  ) {
    this.seen = signatureSync(paths);
    this.current = readPem(paths);
  }

  static forListener(server: ServerConfig, listener: ListenerName, opts: { configPath?: string; logger?: Logger }): TlsCredentials | undefined {
    const t = listenerTls(server, listener);
    return t === undefined ? undefined : new TlsCredentials(listener, t.settings, pathsOf(t.settings, opts.configPath), opts.logger);
  }

  get pem(): Pem {
    return this.current;
  }

  /** Options for tls.createServer, https.createServer and http2.createSecureServer. */
  serverOptions(): TlsOptions {
    return {
      ...contextOptions(this.current),
      // A client is asked for a certificate only when there is a CA to verify it against.
      requestCert: this.current.ca !== undefined,
      rejectUnauthorized: this.settings.require_client_cert,
      minVersion: 'TLSv1.2',
    };
  }

  /** Keeps `server`'s certificate current (new handshakes; open connections keep theirs). */
  attach(server: tls.Server): void {
    this.onChange((pem) => server.setSecureContext(contextOptions(pem)));
  }

  onChange(listener: (pem: Pem) => void): void {
    this.listeners.add(listener);
  }

  /** Starts checking the files every reload_interval_ms. */
  watch(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.refresh(), this.settings.reload_interval_ms);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the files if they changed; true when a new certificate was installed. */
  async refresh(): Promise<boolean> {
    const now = await signature(this.paths);
    if (now === this.seen) return false;
    this.seen = now;
    let pem: Pem;
    try {
      pem = readPem(this.paths);
      tls.createSecureContext(contextOptions(pem));
    } catch (err) {
      this.logger?.error({ err, listener: this.listener, cert_file: this.paths.cert, key_file: this.paths.key }, 'TLS files changed but do not make a valid certificate and key: the listener keeps its current one');
      return false;
    }
    this.current = pem;
    for (const l of this.listeners) l(pem);
    this.logger?.info({ listener: this.listener, cert_file: this.paths.cert, not_after: new X509Certificate(pem.cert).validTo }, 'TLS certificate reloaded');
    return true;
  }
}

/**
 * A server that hands each connection to `onSocket`: plain node:net, or node:tls that hands
 * over the socket once its handshake is done. `handshakeTimeoutMs` bounds the handshake
 * (a client that trickles it must not hold a connection slot).
 */
export function createSocketServer(creds: TlsCredentials | undefined, onSocket: (socket: Socket) => void, opts: { alpn?: string[]; handshakeTimeoutMs?: number } = {}): Server {
  if (creds === undefined) return net.createServer(onSocket);
  const server = tls.createServer({ ...creds.serverOptions(), ALPNProtocols: opts.alpn, handshakeTimeout: opts.handshakeTimeoutMs }, onSocket);
  creds.attach(server);
  return server;
}

const kPrincipal = Symbol('ascend.tls.principal');
type Marked = TLSSocket & { [kPrincipal]?: string | null };

function uriSans(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  const out: string[] = [];
  // Node quotes a value holding a comma or quote as a JSON string (CVE-2021-44532).
  for (const m of subjectAltName.matchAll(/URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const v = m[1] as string;
    out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
  }
  return out;
}

/**
 * The identity of a client certificate that the listener's CA verified: its SPIFFE ID (a
 * `spiffe://` URI SAN), else its first URI SAN, else its subject CN. Undefined on a plain
 * connection, without a certificate, or with one the CA did not verify. Read once per
 * connection (getPeerCertificate builds a new object on every call).
 */
export function connectionPrincipal(socket: Socket): string | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const s = socket as Marked;
  const known = s[kPrincipal];
  if (known !== undefined) return known ?? undefined;
  let principal: string | null = null;
  if (s.authorized) {
    const cert = s.getPeerCertificate();
    const uris = uriSans(cert.subjectaltname);
    const cn = cert.subject?.CN;
    principal = uris.find((u) => u.startsWith('spiffe://')) ?? uris[0] ?? (typeof cn === 'string' && cn !== '' ? cn : null);
  }
  s[kPrincipal] = principal;
  return principal ?? undefined;
}
