/**
 * The A/B tests a sidecar runs — the config's `ab_tests` and those created through
 * `POST /api/ab-tests` — and what each has decided, per variant. Outlives config reloads (it
 * sits in RuntimeState): results keep counting across a reload, and a config test without
 * `start` starts when this process first loaded it.
 *
 * Tests created through the API and the results live in this process's memory: a restart
 * forgets them, and each replica of a fleet counts its own (docs: README "A/B tests").
 */
import type { DecisionKind } from '../core/decision.js';
import { abEnd, abStatus, assignAb, type AbAssignment, type AbStatus, type AbTestDef, type AbVariant } from '../policy/ab.js';
import type { Runtime } from '../config/runtime.js';
import type { EvalInput } from '../core/action.js';

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

  /** Adds a test made through the API; false when the name is taken. */
  create(rt: Runtime, def: Omit<AbTestDef, 'source' | 'start'> & { start?: number }): AbTestDef | undefined {
    if (this.tests(rt).some((t) => t.name === def.name)) return undefined;
    const t: AbTestDef = { ...def, start: def.start ?? this.now(), source: 'api' };
    this.created.push(t);
    this.cachedFor = undefined;
    return t;
  }

  assign(rt: Runtime, input: EvalInput): AbAssignment | undefined {
    const tests = this.tests(rt);
    if (tests.length === 0) return undefined;
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
