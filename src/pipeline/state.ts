import type { Runtime } from '../config/runtime.js';
import { DecisionCache } from '../evaluator/cache.js';

/**
 * The live runtime and its decision cache. A check reads `runtime` once and uses that
 * snapshot throughout, so a reload switches decisions atomically between checks.
 */
export class RuntimeState {
  private current: Runtime;
  private decisionCache: DecisionCache;
  /** False while draining on shutdown: readiness and gRPC health report not serving. */
  serving = true;
  private readonly listeners: ((rt: Runtime) => void)[] = [];

  constructor(runtime: Runtime) {
    this.current = runtime;
    this.decisionCache = RuntimeState.cacheFor(runtime);
  }

  private static cacheFor(rt: Runtime): DecisionCache {
    const c = rt.config.cache;
    return new DecisionCache({ enabled: c.enabled, ttlMs: c.ttl_ms, maxEntries: c.max_entries });
  }

  get runtime(): Runtime {
    return this.current;
  }

  get cache(): DecisionCache {
    return this.decisionCache;
  }

  /** Installs a new runtime with an empty cache (its keys carry the new version anyway). */
  swap(rt: Runtime): void {
    this.decisionCache.clear();
    this.decisionCache = RuntimeState.cacheFor(rt);
    this.current = rt;
    for (const l of this.listeners) l(rt);
  }

  onSwap(listener: (rt: Runtime) => void): void {
    this.listeners.push(listener);
  }
}
