/**
 * Builds the real app in-process on ephemeral ports (127.0.0.1:0) from YAML text, with
 * logs captured in memory so tests can read decision-log lines.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildApp, type App, type AppOptions } from '../../src/app.js';
import { runtimeFromText } from '../../src/config/runtime.js';

export interface LogLine {
  [k: string]: unknown;
  msg?: string;
  kind?: string;
}

export interface TestApp {
  app: App;
  grpcPort: number;
  httpPort: number;
  /** The gateway listener's port (server.gateway_http_port); undefined when not configured. */
  gatewayPort: number | undefined;
  configPath: string;
  dir: string;
  logs: LogLine[];
  /** Decision-log lines only. */
  decisions(): LogLine[];
  url(path: string): string;
  close(): Promise<void>;
}

export function writeConfig(yaml: string, dir = mkdtempSync(join(tmpdir(), 'ascend-test-'))): { dir: string; path: string } {
  const path = join(dir, 'config.yaml');
  writeFileSync(path, yaml);
  return { dir, path };
}

export interface StartOptions {
  watch?: boolean;
  /** Extra buildApp options (the clock and timers seams). */
  app?: Pick<AppOptions, 'now' | 'timers' | 'fetch' | 'openFileLimit'>;
  /** Write the config into this directory (e.g. one holding the store). */
  dir?: string;
  /** Address the listeners bind to (default 127.0.0.1; `::` for a dual-stack listener). */
  host?: string;
}

export async function startApp(yaml: string, opts: StartOptions = {}): Promise<TestApp> {
  const { dir, path } = writeConfig(yaml, opts.dir);
  const logs: LogLine[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) },
  );
  const runtime = runtimeFromText(yaml, path, 1);
  const app = await buildApp({ runtime, logger, configPath: path, host: opts.host ?? '127.0.0.1', grpcPort: 0, httpPort: 0, defaultMetrics: false, ...opts.app });
  const { grpcPort, httpPort, gatewayHttpPort } = await app.listen();
  if (opts.watch) app.reloader?.watch(50);
  return {
    app,
    grpcPort,
    httpPort,
    gatewayPort: gatewayHttpPort,
    configPath: path,
    dir,
    logs,
    decisions: () => logs.filter((l) => l.kind === 'decision'),
    url: (p) => `http://127.0.0.1:${httpPort}${p}`,
    close: () => app.shutdown(1000),
  };
}
