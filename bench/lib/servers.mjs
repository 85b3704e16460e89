// Servers under test, started on demand from their definitions (bench/scenarios.mjs), pinned to
// the server core, kept running while scenarios use them, stopped at the end.
//
// A definition is data: an argv with {grpcPort} {httpPort} {config} placeholders, how to build
// its config, and how to know it is ready. The sidecar is "just another definition", so the
// harness runs unchanged when the core lands (or against any command: BENCH_SIDECAR_CMD).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './protos.mjs';
import { freePort, startPinned, stopProcess } from './proc.mjs';
import { checkDecision, grpcServing, httpStatus, waitReady } from './probe.mjs';
import { encodeFrame, refund } from './frames.mjs';
import { generateConfigYaml } from './gen-config.mjs';

/** A scenario that cannot run here and now; the report shows the reason instead of numbers. */
export class SkipError extends Error {}

export const SIDECAR_CLI = process.env.BENCH_SIDECAR_CLI ?? path.join(REPO, 'dist/cli.js');

/**
 * The candidate command. Default: node dist/cli.js serve --config F --grpc-port P --http-port Q.
 * BENCH_SIDECAR_CMD replaces it (whitespace-separated, same placeholders), e.g. to bench a build
 * elsewhere: BENCH_SIDECAR_CMD='node /path/to/dist/cli.js serve --config {config} --grpc-port {grpcPort} --http-port {httpPort}'
 */
export function sidecarArgv() {
  if (process.env.BENCH_SIDECAR_CMD) return process.env.BENCH_SIDECAR_CMD.trim().split(/\s+/);
  return [process.execPath, SIDECAR_CLI, 'serve', '--config', '{config}', '--grpc-port', '{grpcPort}', '--http-port', '{httpPort}'];
}

/** undefined when the sidecar can be tried, else why not. */
export function sidecarMissing() {
  if (process.env.BENCH_SIDECAR_CMD) return undefined;
  if (!existsSync(SIDECAR_CLI)) return `${path.relative(REPO, SIDECAR_CLI)} is missing: pending core (build the sidecar with npm run build)`;
  return undefined;
}

const READY = {
  // The bare server has no health service: it is ready when a Check answers.
  'grpc-check': (s) => checkDecision(s.grpcPort, s.allowFrame).then(() => true),
  // The sidecar's contract: /readyz answers 200 on the HTTP port when it is ready.
  sidecar: (s) => httpStatus(`http://127.0.0.1:${s.httpPort}/readyz`).then((st) => st === 200),
  readyz: (s) => httpStatus(`http://127.0.0.1:${s.httpPort}/readyz`).then((st) => st === 200),
  opa: (s) => httpStatus(`http://127.0.0.1:${s.httpPort}/health`).then((st) => st === 200),
};

export class ServerPool {
  constructor({ outDir, say = console.error }) {
    Object.assign(this, { outDir, say, running: new Map() });
    this.sidecarBroken = undefined; // one early death explains every sidecar scenario
    this.allowFrame = encodeFrame(refund());
  }

  /** The running server for `id`, starting it if needed. Throws SkipError when it cannot run. */
  async get(id, spec) {
    if (this.running.has(id)) return this.running.get(id);
    if (spec.requires === 'sidecar') {
      const why = sidecarMissing() ?? this.sidecarBroken;
      if (why) throw new SkipError(why);
    }
    const unavailable = spec.skip?.();
    if (unavailable) throw new SkipError(unavailable);
    const server = { id, spec, grpcPort: await freePort(), httpPort: await freePort(), allowFrame: this.allowFrame };
    server.config = this.writeConfig(id, spec.config);
    const argv = spec.argv().map((a) => a.replace(/\{(grpcPort|httpPort|config)\}/g, (_, k) => String(server[k])));
    server.child = startPinned(argv, { cwd: REPO, logFile: path.join(this.outDir, 'logs', `${id}.log`), env: spec.env });
    server.pid = server.child.pid;
    const r = await waitReady(server.child, () => READY[spec.ready](server), { timeoutMs: spec.readyTimeoutMs ?? 20000, what: id });
    if (!r.ready) {
      await stopProcess(server.child);
      const reason = `${r.reason}; log: ${path.relative(REPO, server.child.logFile)}`;
      if (spec.requires === 'sidecar') {
        this.sidecarBroken = `pending core — ${reason}`;
        throw new SkipError(this.sidecarBroken);
      }
      throw new Error(reason);
    }
    if (spec.ready === 'sidecar') server.grpcHealth = await grpcServing(server.grpcPort).catch(() => false);
    this.say(`[bench] started ${id} (pid ${server.pid}, grpc ${server.grpcPort}, http ${server.httpPort})`);
    this.running.set(id, server);
    return server;
  }

  writeConfig(id, config) {
    if (!config) return '';
    if (config.file) return path.resolve(REPO, config.file);
    const file = path.join(this.outDir, 'configs', `${id}.yaml`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, generateConfigYaml(config.generate));
    return file;
  }

  async stop(id) {
    const s = this.running.get(id);
    if (!s) return;
    this.running.delete(id);
    await stopProcess(s.child);
  }

  async stopAll() {
    for (const id of [...this.running.keys()]) await this.stop(id);
  }
}
