/**
 * The edge's bundle client across reloads (evaluator.bundle), so a reload turns bundles on or
 * off, or points them elsewhere, without a restart:
 * - on: a client starts — the bundle kept in its cache_file runs at once if it verifies, and
 *   polling begins; until a bundle is active the edge is not ready (as at start);
 * - off: the client stops and the edge's own file decides;
 * - another url, cache_file or public key: the old client stops and a new one starts (the
 *   active bundle is not assumed valid for the new source).
 * Each is a config swap, so the decision cache never serves a decision of the previous source.
 * While the settings stay the same, a reload recomposes the file with the active bundle.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { loadRuntime } from '../config/load.js';
import { parseConfig } from '../config/parse.js';
import type { Runtime } from '../config/runtime.js';
import type { BundleClientConfig } from '../config/schema.js';
import type { RuntimeState } from '../pipeline/state.js';
import { BundleClient, type BundleMetrics } from './client.js';

/** What makes a bundle client another one: where it polls, where it keeps, what key verifies. */
function sourceOf(b: BundleClientConfig | undefined): string {
  return b === undefined ? '' : JSON.stringify([b.url, b.cache_file, b.public_key_file]);
}

function keyOf(rt: Runtime): string {
  const b = rt.config.evaluator.bundle;
  return b === undefined ? '' : sourceOf(b) + (rt.bundleKey?.export({ type: 'spki', format: 'pem' }).toString() ?? '');
}

export class BundleControl {
  private client: BundleClient | undefined;
  private key = '';
  private polling = false;

  constructor(
    private readonly configPath: string,
    private readonly state: RuntimeState,
    private readonly metrics: BundleMetrics,
    private readonly logger: Logger,
    /** Readiness may have changed (gRPC health watchers are told). */
    private readonly onChange: () => void = () => {},
  ) {
    state.addReadinessGate(() => this.client === undefined || this.client.ready);
    this.metrics.active.set(0);
  }

  /** The running client; undefined while the config has no evaluator.bundle. */
  get current(): BundleClient | undefined {
    return this.client;
  }

  /**
   * At start: the client of the starting config, its kept bundle run before the first request.
   * Later (a swap): a client started, stopped or replaced when the bundle settings changed.
   */
  apply(rt: Runtime): void {
    const key = keyOf(rt);
    if (key === this.key) return;
    const old = this.client;
    old?.stop();
    this.key = key;
    this.client = key === '' ? undefined : new BundleClient(this.configPath, this.state, this.metrics, this.logger, this.onChange);
    if (this.client === undefined) {
      this.metrics.active.set(0);
      this.logger.info('policy bundles off: the config file decides');
      this.onChange();
      return;
    }
    if (old !== undefined || this.polling) this.logger.info({ url: rt.config.evaluator.bundle?.url }, 'policy bundle source changed: the kept bundle, then the control plane');
    const client = this.client;
    // Not inside the swap that called us: the kept bundle's activation is a swap of its own.
    if (this.polling) {
      queueMicrotask(() => {
        if (this.client !== client) return;
        client.coldStart();
        client.start();
        this.onChange();
      });
    } else client.coldStart();
  }

  /** Polling begins (with listen()). */
  start(): void {
    this.polling = true;
    this.client?.start();
  }

  stop(): void {
    this.polling = false;
    this.client?.stop();
  }

  /**
   * For the config reloader: the file, composed with the active bundle while the file still
   * names the same bundle source; else the file alone (a new or no source: apply() follows).
   */
  load = async (path: string, version: number): Promise<{ runtime: Runtime; text: string }> => {
    const client = this.client;
    if (client !== undefined) {
      let same = false;
      try {
        same = sourceOf(parseConfig(await readFile(path, 'utf8'), path).config.evaluator.bundle) === sourceOf(this.state.runtime.config.evaluator.bundle);
      } catch {
        same = false; // loadRuntime reports what is wrong with the file
      }
      if (same) return client.load(path, version);
    }
    return loadRuntime(path, version);
  };
}
