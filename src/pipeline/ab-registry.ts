/**
 * The A/B tests a sidecar runs — the config's `ab_tests` and those created through
 * `POST /api/ab-tests` — and what each has decided, per variant. Outlives config reloads (it
 * sits in RuntimeState): results keep counting across a reload, and a config test without
 * `start` starts when this process first loaded it.
 *
 * With `store:`, tests created through the API are written to the store first and followed
 * from it (pipeline/ab-sync.ts): they survive a restart, and on PostgreSQL every replica runs
 * them. Without a store they live in this process. Results are counted in memory: a restart
 * starts them again, and each replica counts its own (docs: README "A/B tests").
 */
import type { DecisionKind } from '../core/decision.js';
import { abEnd, abStatus, assignAb, type AbAssignment, type AbStatus, type AbTestDef, type AbVariant } from '../policy/ab.js';
import type { Runtime } from '../config/runtime.js';
import type { EvalInput } from '../core/action.js';
import type { AbTestRecord } from '../approvals/store/ab-test-store.js';

export interface VariantCounts {
  decisions: number;
  allowed: number;
  denied: number;
  pending: number;
}

export interface AbResults {
  readonly control: VariantCounts;
  readonly test: VariantCounts;
  /** Shadow tests: requests on which the test policy would have decided otherwise than the enforced control. */
  divergences: number;
  first: number | undefined;
  last: number | undefined;
}

export interface AbTestView {
  readonly id: string;
  readonly name: string;
  readonly control_policy: string;
  readonly test_policy: string;
  readonly traffic_split: number;
  readonly duration_days: number;
  readonly start: string;
  readonly end: string;
  readonly shadow: boolean;
  readonly source: 'config' | 'api';
  readonly status: AbStatus;
}

const zero = (): VariantCounts => ({ decisions: 0, allowed: 0, denied: 0, pending: 0 });

function sameTest(a: AbTestDef, b: AbTestDef): boolean {
  return a.name === b.name && a.control_policy === b.control_policy && a.test_policy === b.test_policy && a.traffic_split === b.traffic_split
    && a.duration_days === b.duration_days && a.start === b.start && a.shadow === b.shadow;
}

/** What the store keeps of a test made through the API. */
export function abTestRecord(t: AbTestDef, createdAt: number): AbTestRecord {
  return {
    name: t.name, control_policy: t.control_policy, test_policy: t.test_policy, traffic_split: t.traffic_split,
    duration_days: t.duration_days, start: t.start, shadow: t.shadow, created_at: createdAt,
  };
}

export class AbRegistry {
  private readonly created: AbTestDef[] = [];
  private readonly firstSeen = new Map<string, number>();
  private readonly results = new Map<string, AbResults>();
  private cachedFor: Runtime | undefined;
  private cachedTests: readonly AbTestDef[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Every test: the config's (start resolved) then the API's; a config test wins a name clash. */
  tests(rt: Runtime): readonly AbTestDef[] {
    if (this.cachedFor !== rt) {
      const fromConfig = rt.config.ab_tests.map((t): AbTestDef => {
        if (!this.firstSeen.has(t.name)) this.firstSeen.set(t.name, this.now());
        const start = t.start === undefined ? (this.firstSeen.get(t.name) as number) : Date.parse(t.start);
        return { ...t, start, shadow: t.shadow, source: 'config' };
      });
      const names = new Set(fromConfig.map((t) => t.name));
      this.cachedTests = [...fromConfig, ...this.created.filter((t) => !names.has(t.name))];
      this.cachedFor = rt;
    }
    return this.cachedTests;
  }

  /** A test to be made through the API, its start resolved (not added yet); undefined when the name is taken. */
  prepare(rt: Runtime, def: Omit<AbTestDef, 'source' | 'start'> & { start?: number }): AbTestDef | undefined {
    if (this.tests(rt).some((t) => t.name === def.name)) return undefined;
    return { ...def, start: def.start ?? this.now(), source: 'api' };
  }

  /** Runs a test made through the API (after the store has it, when there is one). */
  add(t: AbTestDef): void {
    if (this.created.some((c) => c.name === t.name)) return;
    this.created.push(t);
    this.cachedFor = undefined;
  }

  /**
   * The store's tests become the API's tests (the store is their record when there is one).
   * True when that changed which tests run or how.
   */
  adopt(stored: readonly AbTestRecord[]): boolean {
    const next = stored.map(({ created_at: _created, ...r }): AbTestDef => ({ ...r, source: 'api' }));
    const same = next.length === this.created.length && next.every((t, i) => sameTest(t, this.created[i] as AbTestDef));
    if (same) return false;
    this.created.splice(0, this.created.length, ...next);
    this.cachedFor = undefined;
    return true;
  }

  assign(rt: Runtime, input: EvalInput): AbAssignment | undefined {
    const tests = this.tests(rt);
    if (tests.length === 0) return undefined;
    // Membership reads the two policies' conditions, `risk.score` among them: score it first
    // (it read 0 before this). An assignment means the risk is scored: the pipeline decides
    // with engine.decideScored, not evaluate, which would score it again.
    rt.engine.scoreRisk(input);
    return assignAb(tests, input, this.now(), (id, i) => rt.engine.holds(id, i));
  }

  private resultsOf(name: string): AbResults {
    let r = this.results.get(name);
    if (r === undefined) this.results.set(name, (r = { control: zero(), test: zero(), divergences: 0, first: undefined, last: undefined }));
    return r;
  }

  record(name: string, variant: AbVariant, decision: DecisionKind): void {
    const r = this.resultsOf(name);
    const c = r[variant];
    c.decisions++;
    c[decision]++;
    const now = this.now();
    r.first ??= now;
    r.last = now;
  }

  diverged(name: string): void {
    this.resultsOf(name).divergences++;
  }

  view(t: AbTestDef): AbTestView {
    return {
      id: t.name, name: t.name, control_policy: t.control_policy, test_policy: t.test_policy, traffic_split: t.traffic_split,
      duration_days: t.duration_days, start: new Date(t.start).toISOString(), end: new Date(abEnd(t)).toISOString(),
      shadow: t.shadow, source: t.source, status: abStatus(t, this.now()),
    };
  }

  resultsView(t: AbTestDef): Record<string, unknown> {
    const r = this.results.get(t.name);
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      ...this.view(t),
      variants: { control: { ...(r?.control ?? zero()) }, test: { ...(r?.test ?? zero()) } },
      divergences: r?.divergences ?? 0,
      since: iso(r?.first),
      until: iso(r?.last),
    };
  }
}
