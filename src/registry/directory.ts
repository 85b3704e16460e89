/**
 * The agents the hot path knows besides the config's `agents:` — registered through the API —
 * and the agents the kill switch blocks. Both live in memory (the check pipeline is synchronous)
 * and are loaded from the store at start, changed with every API call, and reloaded when another
 * process sharing the store changes them (sync.ts).
 *
 * Cost on the hot path: AgentRegistry looks an agent up here only when the config does not
 * declare it; the pipeline reads `blocked.size`, and looks the agent up only while some agent
 * is blocked.
 */
import type { AgentView } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import type { AgentBlockRecord, AgentRecord, AgentState } from '../approvals/store/agent-records.js';

/** What policy conditions see of a registered agent (`agent.type`, `agent.capabilities` …). */
export function agentView(r: AgentRecord): AgentView {
  return Object.freeze({
    id: r.agent_id, registered: true, type: r.agent_type, capabilities: Object.freeze([...r.capabilities]),
    name: r.display_name ?? undefined,
  });
}

/** The answer every path gives a blocked agent: denied, never cached, whatever the policies say. */
export function blockedDecision(b: AgentBlockRecord, deniedStatus: number): Decision {
  return {
    decision: 'denied', code: 'agent_blocked', reason: `agent "${b.agent_id}" is blocked by the kill switch: ${b.reason}`,
    policyId: null, policyName: null, riskScore: 100, flagged: false, approvers: undefined, workflow: undefined,
    monitor: undefined, failOpen: false, httpStatus: deniedStatus,
  };
}

export class AgentDirectory {
  /** Views of API-registered agents by id. */
  readonly registered = new Map<string, AgentView>();
  /** Blocked agents by id. */
  readonly blocked = new Map<string, AgentBlockRecord>();
  /** Bumped by every change (sync.ts: a snapshot read across a change is stale). */
  version = 0;
  private readonly listeners: (() => void)[] = [];

  /** Told after the registered agents changed (decisions cached before were made with the old views). */
  onRegisteredChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  setAgent(r: AgentRecord): void {
    this.registered.set(r.agent_id, agentView(r));
    this.changed();
  }

  removeAgent(agentId: string): void {
    if (this.registered.delete(agentId)) this.changed();
  }

  block(b: AgentBlockRecord): void {
    this.blocked.set(b.agent_id, b);
    this.version++;
  }

  unblock(agentId: string): void {
    this.blocked.delete(agentId);
    this.version++;
  }

  /** Replaces everything with a store snapshot. */
  replace(state: Pick<AgentState, 'agents' | 'blocks'>): void {
    this.registered.clear();
    for (const a of state.agents) this.registered.set(a.agent_id, agentView(a));
    this.blocked.clear();
    for (const b of state.blocks) this.blocked.set(b.agent_id, b);
    this.changed();
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}
