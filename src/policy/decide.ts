/** Turns the engine's match into a {@link Decision} (one mapping table, pure). */
import type { Decision, DecisionKind, PolicyAction } from '../core/decision.js';
import type { PolicyCode } from '../core/errors.js';
import type { CompiledPolicy } from './policy.js';

export interface DecideSettings {
  readonly defaultDecision: 'allow' | 'deny';
  readonly mode: 'enforce' | 'monitor';
  readonly deniedStatus: number;
  readonly pendingStatus: number;
}

const KIND: Readonly<Record<PolicyAction, DecisionKind>> = {
  allow: 'allowed',
  flag: 'allowed',
  deny: 'denied',
  require_approval: 'pending',
};

function reasonFor(p: CompiledPolicy): string {
  switch (p.action) {
    case 'allow':
      return `allowed by policy "${p.name}"`;
    case 'flag':
      return `allowed and flagged by policy "${p.name}"`;
    case 'deny':
      return p.reason ?? `denied by policy "${p.name}"`;
    case 'require_approval':
      return p.reason ?? `approval required by policy "${p.name}"`;
  }
}

const CODE: Readonly<Record<PolicyAction, PolicyCode>> = {
  allow: 'policy_allow',
  flag: 'policy_flag',
  deny: 'policy_deny',
  require_approval: 'approval_required',
};

export function decide(
  winner: CompiledPolicy | undefined,
  monitorHit: CompiledPolicy | undefined,
  riskScore: number,
  s: DecideSettings,
): Decision {
  const kind: DecisionKind = winner ? KIND[winner.action] : s.defaultDecision === 'allow' ? 'allowed' : 'denied';
  const base = {
    reason: winner ? reasonFor(winner) : `no policy matched; default_decision is ${s.defaultDecision}`,
    code: winner ? CODE[winner.action] : s.defaultDecision === 'allow' ? 'default_allow' : 'default_deny',
    policyId: winner?.id ?? null,
    policyName: winner?.name ?? null,
    riskScore,
    approvers: winner?.action === 'require_approval' ? winner.approvers : undefined,
    workflow: winner?.action === 'require_approval' ? winner.workflow : undefined,
    failOpen: false,
  };
  const monitorKind = monitorHit ? KIND[monitorHit.action] : undefined;
  const monitor = monitorHit && monitorKind !== kind ? { policyId: monitorHit.id, wouldBe: monitorKind as DecisionKind } : undefined;
  // Whether or not it changed the outcome: an A/B test's stricter variant deciding the same way
  // must not hide what the monitor-mode policy would have done (test/ab-tests.test.ts).
  const monitorMatch = monitorHit !== undefined && monitorKind !== 'allowed' ? monitorHit.id : undefined;
  if (s.mode === 'monitor' && kind !== 'allowed') {
    // Global monitor mode: record what enforcement would have done, then let it through.
    return {
      ...base,
      decision: 'allowed',
      code: 'monitor_allow',
      reason: `monitor mode: ${base.reason}`,
      flagged: true,
      approvers: undefined,
      workflow: undefined,
      monitor: { policyId: base.policyId, wouldBe: kind },
      monitorMatch,
      httpStatus: 200,
    };
  }
  return {
    ...base,
    decision: kind,
    flagged: winner?.action === 'flag',
    monitor,
    monitorMatch,
    httpStatus: kind === 'allowed' ? 200 : kind === 'pending' ? s.pendingStatus : s.deniedStatus,
  };
}

/**
 * Decisions are immutable and depend only on the winning policy, the monitor hit and the
 * risk score (an integer 0..100), so the common case — no monitor hit — is memoized per
 * policy and score: evaluation allocates nothing, and equal decisions are the same object
 * (the Envoy adapter keys its pre-built responses on it).
 */
export class Decider {
  private readonly memo = new Map<CompiledPolicy | null, (Decision | undefined)[]>();

  constructor(private readonly settings: DecideSettings) {}

  decide(winner: CompiledPolicy | undefined, monitorHit: CompiledPolicy | undefined, riskScore: number): Decision {
    if (monitorHit !== undefined || !Number.isInteger(riskScore) || riskScore < 0 || riskScore > 100) {
      return decide(winner, monitorHit, riskScore, this.settings);
    }
    const key = winner ?? null;
    let byScore = this.memo.get(key);
    if (byScore === undefined) this.memo.set(key, (byScore = new Array<Decision | undefined>(101)));
    return (byScore[riskScore] ??= Object.freeze(decide(winner, undefined, riskScore, this.settings)));
  }
}
