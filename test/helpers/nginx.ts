/**
 * A real nginx for end-to-end tests: free ports, a config in a temp dir (own pid, logs and
 * temp paths), the binary run in the foreground as a child process, and readiness by
 * polling its port — never a blind sleep.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemTool } from './tool-probe.js';

/** The nginx binary (callers sit inside describeWith('nginx', ...)). */
export function nginxBinary(): string {
  const { path, reason } = systemTool('nginx');
  if (!path) throw new Error(reason);
  return path;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.connect(port, '127.0.0.1');
  });
}

/** Resolves once `port` accepts connections; rejects after `timeoutMs` or when `alive()` turns false. */
export async function waitForPort(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`process exited before port ${port} accepted connections`);
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`port ${port} did not accept connections within ${timeoutMs} ms`);
}

export interface Nginx {
  dir: string;
  proc: ChildProcess;
  errorLog(): string;
  stop(): Promise<void>;
}

/** The `http {}` prelude that keeps every nginx file under `dir`. */
export function httpPrelude(dir: string): string {
  return ['client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path']
    .map((d) => `    ${d} ${join(dir, d)};`)
    .concat([`    access_log ${join(dir, 'access.log')};`])
    .join('\n');
}

/**
 * A `server {}` on 127.0.0.1:`listen` that includes the sidecar's auth endpoint (a copy of
 * deploy/nginx/ascend-auth-endpoint.conf) and protects `location /` with `protect`
 * (deploy/nginx/ascend-protect.conf) in front of the upstream named `app`.
 */
export function protectedServer(listen: number, files: { endpoint: string; protect: string }): string {
  return `
    server {
        listen 127.0.0.1:${listen};
        include ${files.endpoint};
        location / {
            include ${files.protect};
            proxy_set_header Host $host;
            proxy_pass http://app;
        }
    }`;
}

/**
 * Starts nginx in the foreground with `httpBlock` as the body of `http {}`, and waits until
 * every port in `ports` accepts connections.
 */
export async function startNginx(httpBlock: (dir: string) => string, ports: number[]): Promise<Nginx> {
  const bin = nginxBinary();
  const dir = mkdtempSync(join(tmpdir(), 'ascend-nginx-'));
  const errorLog = join(dir, 'error.log');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${errorLog} info;`,
      'events { worker_connections 128; }',
      'http {',
      httpPrelude(dir),
      httpBlock(dir),
      '}',
      '',
    ].join('\n'),
  );
  const test = spawnSync(bin, ['-t', '-p', dir, '-c', conf, '-e', errorLog], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t failed:\n${test.stderr}\n${readFileSync(conf, 'utf8')}`);
  const proc = spawn(bin, ['-p', dir, '-c', conf, '-e', errorLog], { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.on('exit', () => {
    exited = true;
    resolve();
  }));
  const readLog = () => {
    try {
      return readFileSync(errorLog, 'utf8');
    } catch {
      return '';
    }
  };
  try {
    for (const p of ports) await waitForPort(p, 10_000, () => !exited);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\nnginx error log:\n${readLog()}`);
  }
  return {
    dir,
    proc,
    errorLog: readLog,
    stop: async () => {
      if (!exited) proc.kill('SIGTERM');
      await exit;
    },
  };
}
