/**
 * Runs the built CLI (`dist/cli.js`) as a real child process, for tests that need signals,
 * exit codes or a crash.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args` to its exit: its exit code (0 on success) and output. `env` adds to this process's. */
export async function runCli(args: string[], { env = {}, timeoutMs }: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as CliResult;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

export interface Sidecar {
  proc: ChildProcess;
  grpcPort: number;
  httpPort: number;
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
  /** Resolves with the first log line for which `pred` holds. */
  waitForLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `readyTimeoutMs`: how long to wait for the listening line — generous, because a loaded machine (CI, or tests running side by side) can take ten seconds and more to start a process. */
export function spawnSidecar(configPath: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, { readyTimeoutMs = 30_000 } = {}): Promise<Sidecar> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', configPath, '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => stderr.push(c));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const waitForLine = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = lines.find(pred);
      if (found) return resolve(found);
      const t = setTimeout(() => reject(new Error(`timed out waiting for a log line; stderr: ${stderr.join('')}`)), timeoutMs);
      waiters.push({ pred, resolve: (l) => { clearTimeout(t); resolve(l); } });
      void exited.then((code) => { clearTimeout(t); reject(new Error(`sidecar exited (${code}) before the line; stderr: ${stderr.join('')}`)); });
    });
  return waitForLine((l) => l.msg === 'ascend-sidecar listening', readyTimeoutMs).then((l) => ({
    proc,
    grpcPort: l.grpc_port as number,
    httpPort: l.http_port as number,
    lines,
    stderr,
    exited,
    waitForLine,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  }));
}
