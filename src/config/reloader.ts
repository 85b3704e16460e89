/**
 * Hot reload: on SIGHUP or a change to the config file (including Kubernetes ConfigMap
 * symlink swaps, hence watching the directory), compile the new file and swap it in.
 * An invalid file is reported with every bad field and the last good config keeps serving.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { RuntimeState } from '../pipeline/state.js';
import { ConfigError, formatIssue } from './errors.js';
import { loadRuntime } from './load.js';
import { hashText, type Runtime } from './runtime.js';
import type { Config } from './schema.js';

/** Settings a running sidecar cannot switch (the store is open with its file or pool): why, or undefined. */
export function restartRequired(before: Config, after: Config): string | undefined {
  const show = (p: unknown) => (p === undefined ? 'unset' : typeof p === 'string' ? `"${p}"` : JSON.stringify(p));
  const was = before.store?.path;
  const is = after.store?.path;
  if (was !== is) return `store.path changed from ${show(was)} to ${show(is)}: restart the sidecar to use another store (keeping the running config)`;
  for (const key of ['driver', 'url', 'schema', 'pool_max', 'statement_timeout_ms'] as const) {
    const a = before.store?.[key];
    const b = after.store?.[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    // The url may hold a password: name the change, not the value.
    const detail = key === 'url' ? '' : ` from ${show(a)} to ${show(b)}`;
    return `store.${key} changed${detail}: restart the sidecar to use another store (keeping the running config)`;
  }
  return undefined;
}

export type ReloadOutcome =
  | { result: 'success'; version: number; hash: string }
  | { result: 'unchanged'; version: number }
  | { result: 'failure'; error: string };

export class ConfigReloader {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReloadOutcome> | undefined;

  constructor(
    private readonly path: string,
    private readonly state: RuntimeState,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly onReloaded: (version: number) => void = () => {},
    /** How the file becomes a runtime (an edge with a policy bundle composes the two). */
    private readonly load: (path: string, version: number) => Promise<{ runtime: Runtime; text: string }> = loadRuntime,
  ) {}

  /** Reloads now. `force` reloads even when the file text is unchanged (SIGHUP). */
  reload(trigger: string, force = false): Promise<ReloadOutcome> {
    // Serialize reloads: two quick edits must not race to swap.
    const run = (this.running ?? Promise.resolve()).then(() => this.doReload(trigger, force));
    this.running = run;
    return run;
  }

  private async doReload(trigger: string, force: boolean): Promise<ReloadOutcome> {
    const current = this.state.runtime;
    try {
      const { runtime, text } = await this.load(this.path, current.version + 1);
      if (!force && hashText(text) === current.hash) return { result: 'unchanged', version: current.version };
      const refusal = restartRequired(current.config, runtime.config);
      if (refusal !== undefined) throw new Error(refusal);
      this.state.swap(runtime);
      this.metrics.reload('success');
      this.logger.info({ trigger, version: runtime.version, hash: runtime.hash, policies: runtime.engine.policies.length }, 'config reloaded');
      this.onReloaded(runtime.version);
      return { result: 'success', version: runtime.version, hash: runtime.hash };
    } catch (e) {
      this.metrics.reload('failure');
      const issues = e instanceof ConfigError ? e.issues.map(formatIssue) : [(e as Error).message];
      this.logger.error({ trigger, issues, kept_version: current.version }, 'config reload failed; keeping the last good config');
      return { result: 'failure', error: issues.join('; ') };
    }
  }

  /** Watches the file's directory; events are debounced and unchanged text is ignored. */
  watch(debounceMs = 150): void {
    const file = basename(this.path);
    this.watcher = watch(dirname(this.path), (_event, name) => {
      if (name !== null && name !== file && !name.startsWith('..')) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload('file change'), debounceMs);
    });
    this.watcher.on('error', (err) => this.logger.warn({ err }, 'config watch failed; SIGHUP still reloads'));
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
