/**
 * A/B tests of policies (the ASCEND seed's `ab_tests`): two policies compete for the requests
 * either would decide. A stable key (the agent and the action: type and resource) is hashed
 * into 100 buckets per test; `traffic_split` percent of them get the test policy (variant
 * `test`), the rest the control policy (variant `control`), and within a test the policy of the
 * other variant is set aside for that request. The same agent doing the same thing always lands
 * in the same variant, so an approval or a cached decision never flips between them.
 *
 * Outside its window (before `start`, after `duration_days`) a test policy is always set aside:
 * the control applies and the test reports `scheduled` / `finished`. `shadow: true` enforces the
 * control for everyone and evaluates the test policy beside it, counting divergences.
 */
import { createHash } from 'node:crypto';
import type { EvalInput } from '../core/action.js';

export type AbVariant = 'control' | 'test';
export type AbStatus = 'scheduled' | 'running' | 'finished';

export interface AbTestDef {
  readonly name: string;
  readonly control_policy: string;
  readonly test_policy: string;
  /** Percent (0–100) of the test's traffic that gets the test policy. */
  readonly traffic_split: number;
  readonly duration_days: number;
  /** Epoch ms. */
  readonly start: number;
  readonly shadow: boolean;
  readonly source: 'config' | 'api';
}

const DAY_MS = 86_400_000;

export function abStatus(t: AbTestDef, now: number): AbStatus {
  if (now < t.start) return 'scheduled';
  return now < t.start + t.duration_days * DAY_MS ? 'running' : 'finished';
}

export function abEnd(t: AbTestDef): number {
  return t.start + t.duration_days * DAY_MS;
}

/** The bucket (0–99) of a request in a test: sha256 of the test name and the stable key. */
export function abBucket(test: string, input: EvalInput): number {
  const a = input.action;
  const h = createHash('sha256').update(`${test}\0${a.agent_id ?? ''}\0${a.action_type}\0${a.resource}`).digest();
  return h.readUInt32BE(0) % 100;
}

export interface AbMembership {
  readonly test: AbTestDef;
  readonly variant: AbVariant;
}

export interface AbAssignment {
  /** Policies set aside for this request (the other variant's; every test policy outside its window). */
  readonly skip: ReadonlySet<string>;
  /** The running tests this request is in, with its variant (the enforced one for shadow tests). */
  readonly members: readonly AbMembership[];
  /**
   * Appended to the decision-cache key: the decision depends on the variants. `|name=variant`
   * per test the request is in; unambiguous after any key, since a key without a parametersKey
   * is one JSON array (no proper prefix of another) and one with it ends in a length-prefixed
   * key, and a test's name holds neither `|` nor `=` (`^[A-Za-z0-9._-]{1,64}$`, in the config
   * and the API: test/ab-tests.test.ts).
   */
  readonly keySuffix: string;
  /** Shadow tests this request is in: evaluate again with this set aside to compare. */
  readonly shadows: readonly { readonly test: AbTestDef; readonly skip: ReadonlySet<string> }[];
}

/**
 * Which tests `input` is in and what is set aside. A request is in a running test when the
 * control or the test policy would match it (`holds`). Undefined when no test is defined.
 */
export function assignAb(
  tests: readonly AbTestDef[], input: EvalInput, now: number, holds: (policyId: string, input: EvalInput) => boolean,
): AbAssignment | undefined {
  if (tests.length === 0) return undefined;
  const skip = new Set<string>();
  const members: AbMembership[] = [];
  const shadows: { test: AbTestDef; skip: ReadonlySet<string> }[] = [];
  let keySuffix = '';
  for (const t of tests) {
    if (abStatus(t, now) !== 'running' || !(holds(t.control_policy, input) || holds(t.test_policy, input))) {
      skip.add(t.test_policy);
      continue;
    }
    const variant: AbVariant = !t.shadow && abBucket(t.name, input) < t.traffic_split ? 'test' : 'control';
    skip.add(variant === 'test' ? t.control_policy : t.test_policy);
    members.push({ test: t, variant });
    if (t.shadow) shadows.push({ test: t, skip: new Set([t.control_policy]) });
    keySuffix += `|${t.name}=${variant}`;
  }
  return { skip, members, keySuffix, shadows };
}
