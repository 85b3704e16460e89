import type { Runtime } from '../config/runtime.js';
import { DecisionCache } from '../evaluator/cache.js';
import { AgentDirectory } from '../registry/directory.js';
import { AbRegistry } from './ab-registry.js';

/**
 * The live runtime, its decision cache and the agents known besides the config (registered,
 * blocked). A check reads `runtime` once and uses that snapshot throughout, so a reload
 * switches decisions atomically between checks.
 */
export class RuntimeState {
  private current: Runtime;
  private decisionCache: DecisionCache;
  /** Outlives reloads: registrations and blocks are not config. */
  readonly agents = new AgentDirectory();
  /** A/B tests (config and API) and their results; outlives reloads. */
  readonly ab = new AbRegistry();
  /** False while draining on shutdown: readiness and gRPC health report not serving. */
  serving = true;
  private readonly listeners: ((rt: Runtime) => void)[] = [];
  private readonly gates: (() => boolean)[] = [];

  /**
   * `now`: the checks' clock in ms (performance.now() unless a test gives another): the
   * pipeline's latencies and the decision cache's TTLs are both read on it.
   */
  constructor(runtime: Runtime, readonly now: () => number = () => performance.now()) {
    this.current = runtime;
    this.decisionCache = this.cacheFor(runtime);
    // Cached decisions were computed with the agent views of their time; blocks need no clear
    // (the pipeline checks them before the cache, and never caches a blocked answer).
    this.agents.onRegisteredChange(() => this.decisionCache.clear());
  }

  private cacheFor(rt: Runtime): DecisionCache {
    const c = rt.config.cache;
    return new DecisionCache({ enabled: c.enabled, ttlMs: c.ttl_ms, maxEntries: c.max_entries, now: this.now });
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
    this.decisionCache = this.cacheFor(rt);
    this.current = rt;
    for (const l of this.listeners) l(rt);
  }

  /** Something else readiness waits for (a policy bundle): gRPC health serves once all hold. */
  addReadinessGate(gate: () => boolean): void {
    this.gates.push(gate);
  }

  /** Serving, and every readiness gate holds. */
  get ready(): boolean {
    return this.serving && this.gates.every((g) => g());
  }

  onSwap(listener: (rt: Runtime) => void): void {
    this.listeners.push(listener);
  }
}
